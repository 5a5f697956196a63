#!/usr/bin/env python3
"""A DNS client for the DNS tests: one query, the reply printed plainly.

Usage: dns_query.py SERVER NAME [TYPE] [udp|tcp]   (TYPE: A, AAAA or PTR; default A over UDP)
Prints "rcode=N tc=0|1 aa=0|1" and then one line per answer record: the address (A, AAAA) or the
target name (PTR). Exit 0 once a reply came, 1 when none did within 5 s.
Test code: the wire format is handled by hand here on purpose, independent of the ldns the server
under test uses.
"""
import ipaddress
import os
import socket
import struct
import sys

TYPES = {"A": 1, "PTR": 12, "AAAA": 28}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, pos):
    """The name at pos (following compression pointers) and the position after it."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            hops += 1
            if hops > 64:
                raise ValueError("pointer loop")
            continue
        if n == 0:
            return ".".join(labels), (end if end is not None else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n


def ask(server, name, qtype, tcp):
    qid = struct.unpack("!H", os.urandom(2))[0]
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name)
    query += struct.pack("!HH", qtype, 1)
    if tcp:
        s = socket.create_connection((server, 53), timeout=5)
        s.sendall(struct.pack("!H", len(query)) + query)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            chunk = s.recv(65535)
            if not chunk:
                break
            data += chunk
        return qid, data[2:]
    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(query, (server, 53))
    return qid, s.recvfrom(65535)[0]


def main():
    server, name = sys.argv[1], sys.argv[2]
    qtype = TYPES[sys.argv[3].upper()] if len(sys.argv) > 3 else 1
    tcp = len(sys.argv) > 4 and sys.argv[4] == "tcp"
    try:
        qid, msg = ask(server, name, qtype, tcp)
    except OSError as e:
        print(f"no reply: {e}")
        return 1
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != qid:
        print(f"reply ID {rid} != query ID {qid}")
        return 1
    print(f"rcode={flags & 0xF} tc={(flags >> 9) & 1} aa={(flags >> 10) & 1}")
    pos = 12
    for _ in range(qd):
        pos = read_name(msg, pos)[1] + 4
    for _ in range(an):
        pos = read_name(msg, pos)[1]
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        rdata = msg[pos:pos + rdlen]
        if rtype in (1, 28):
            print(ipaddress.ip_address(rdata))
        elif rtype == 12:
            print(read_name(msg, pos)[0])
        pos += rdlen
    return 0


if __name__ == "__main__":
    sys.exit(main())
