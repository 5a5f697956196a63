#!/usr/bin/env python3
"""A tiny upstream DNS server for the DNS tests, inside the test's throwaway host only.

Usage: dns_upstream.py ADDR
Answers over UDP and TCP on ADDR:53:
  outside.example.  A 198.51.100.77
  big.example.      30 A records 203.0.113.1-30: over UDP the answer is cut to the header with TC
                    set (a truncated reply), over TCP it is whole
  anything else     NXDOMAIN
Test code: the wire format is built by hand here on purpose, to stay independent of the ldns the
server under test uses.
"""
import socket
import struct
import sys
import threading


def parse_question(msg):
    """The query ID, the question section's bytes and the lowercased name."""
    qid = msg[:2]
    pos, labels = 12, []
    while msg[pos] != 0:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace").lower())
        pos += 1 + n
    end = pos + 5  # the zero byte, QTYPE, QCLASS
    qtype = struct.unpack("!H", msg[pos + 1:pos + 3])[0]
    return qid, msg[12:end], ".".join(labels) + ".", qtype


def reply(msg, tcp):
    qid, question, name, qtype = parse_question(msg)
    answers = []
    if name == "outside.example." and qtype == 1:
        answers = [bytes([198, 51, 100, 77])]
    elif name == "big.example." and qtype == 1:
        answers = [bytes([203, 0, 113, i]) for i in range(1, 31)]
    rcode = 0 if name in ("outside.example.", "big.example.") else 3
    flags = 0x8180 | rcode
    if name == "big.example." and not tcp:
        return qid + struct.pack("!HHHHH", flags | 0x0200, 1, 0, 0, 0) + question
    body = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + a for a in answers)
    return qid + struct.pack("!HHHHH", flags, 1, len(answers), 0, 0) + question + body


def serve_udp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            s.sendto(reply(msg, False), peer)
        except (IndexError, struct.error):
            pass


def serve_tcp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 53))
    s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            n = struct.unpack("!H", c.recv(2))[0]
            msg = b""
            while len(msg) < n:
                chunk = c.recv(n - len(msg))
                if not chunk:
                    break
                msg += chunk
            out = reply(msg, True)
            c.sendall(struct.pack("!H", len(out)) + out)
        except (IndexError, struct.error, OSError):
            pass
        finally:
            c.close()


if __name__ == "__main__":
    threading.Thread(target=serve_tcp, args=(sys.argv[1],), daemon=True).start()
    serve_udp(sys.argv[1])
