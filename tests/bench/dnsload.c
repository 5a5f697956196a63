// dnsload: a light DNS load generator for tests/bench/dns.sh. dnsperf spends about as much CPU per
// query as the servers it measures, so on a 2-vCPU machine its own cost caps every server alike;
// this one keeps WINDOW queries in flight from one socket, sends and reads them in batches
// (sendmmsg/recvmmsg), and builds its queries with ldns once, so the server is what saturates.
// Usage: dnsload -s SERVER -d FILE [-l SECS] [-w WINDOW]
//   FILE: one query per line, "NAME TYPE" as dnsperf reads it (TYPE: A, AAAA or PTR).
// Prints: "sent N completed N lost N noerror N qps N" (noerror: NOERROR answers with records).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUERIES 256
#define MAX_WINDOW 4096
#define BATCH 64
#define LOST_AFTER 1.0  // seconds without an answer: lost, and its slot reused

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int load_queries(const char* path, uint8_t* wire[], size_t size[]) {
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  char line[512], name[300], type[16];
  int n = 0;
  while (n < MAX_QUERIES && fgets(line, sizeof line, f)) {
    if (sscanf(line, "%299s %15s", name, type) != 2) continue;
    ldns_rr_type t = ldns_get_rr_type_by_name(type);
    ldns_rdf* owner = ldns_dname_new_frm_str(name);
    ldns_pkt* p = owner ? ldns_pkt_query_new(owner, t, LDNS_RR_CLASS_IN, LDNS_RD) : NULL;
    if (!p || ldns_pkt2wire(&wire[n], p, &size[n]) != LDNS_STATUS_OK) {
      fprintf(stderr, "dnsload: cannot build a query for %s %s\n", name, type);
      exit(2);
    }
    ldns_pkt_free(p);
    n++;
  }
  fclose(f);
  return n;
}

struct slot {
  double sent;
  int busy;
};

int main(int argc, char** argv) {
  const char *server = NULL, *file = NULL;
  double secs = 5;
  int window = 256, opt;
  while ((opt = getopt(argc, argv, "s:d:l:w:")) != -1) {
    if (opt == 's') server = optarg;
    else if (opt == 'd') file = optarg;
    else if (opt == 'l') secs = atof(optarg);
    else if (opt == 'w') window = atoi(optarg);
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
  if (!server || !file || secs <= 0 || window < 1 || window > MAX_WINDOW ||
      inet_pton(AF_INET, server, &sa.sin_addr) != 1) {
    fprintf(stderr, "usage: dnsload -s IPV4 -d FILE [-l SECS] [-w 1..%d]\n", MAX_WINDOW);
    return 2;
  }
  static uint8_t* tmpl[MAX_QUERIES];
  static size_t tsize[MAX_QUERIES];
  int nq = load_queries(file, tmpl, tsize);
  if (nq <= 0) {
    fprintf(stderr, "dnsload: no queries in %s\n", file);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  struct timeval tv = {.tv_sec = 0, .tv_usec = 10000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (fd < 0 || connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
    perror("dnsload: socket");
    return 1;
  }
  static struct slot slots[MAX_WINDOW];
  static uint8_t out[BATCH][512], in[BATCH][4096];
  struct mmsghdr sm[BATCH], rm[BATCH];
  struct iovec siov[BATCH], riov[BATCH];
  memset(rm, 0, sizeof rm);
  for (int i = 0; i < BATCH; i++) {
    riov[i] = (struct iovec){in[i], sizeof in[i]};
    rm[i].msg_hdr.msg_iov = &riov[i];
    rm[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long sent = 0, done = 0, lost = 0, ok = 0, next_q = 0;
  int free_from = 0;
  double start = now_s(), end = start + secs, last_scan = start, t = start;
  while ((t = now_s()) < end + LOST_AFTER) {
    int ns = 0;  // fill free slots (only before the end)
    for (int k = 0; t < end && k < window && ns < BATCH; k++) {
      int i = (free_from + k) % window;
      if (slots[i].busy) continue;
      size_t qi = next_q++ % (size_t)nq;
      memcpy(out[ns], tmpl[qi], tsize[qi]);
      out[ns][0] = (uint8_t)(i >> 8), out[ns][1] = (uint8_t)i;  // the ID names the slot
      siov[ns] = (struct iovec){out[ns], tsize[qi]};
      memset(&sm[ns], 0, sizeof sm[ns]);
      sm[ns].msg_hdr.msg_iov = &siov[ns];
      sm[ns].msg_hdr.msg_iovlen = 1;
      slots[i] = (struct slot){t, 1};
      ns++;
      free_from = (i + 1) % window;
    }
    if (ns > 0) {
      int n = sendmmsg(fd, sm, (unsigned)ns, 0);
      sent += n > 0 ? (unsigned long)n : 0;
    }
    int nr = recvmmsg(fd, rm, BATCH, MSG_WAITFORONE, NULL);
    for (int k = 0; k < nr; k++) {
      if (rm[k].msg_len < LDNS_HEADER_SIZE) continue;
      unsigned id = LDNS_ID_WIRE(in[k]);
      if (id >= (unsigned)window || !slots[id].busy) continue;
      slots[id].busy = 0;
      done++;
      if (LDNS_RCODE_WIRE(in[k]) == LDNS_RCODE_NOERROR && LDNS_ANCOUNT(in[k]) > 0) ok++;
    }
    if (t - last_scan > 0.1) {  // slots waiting too long: lost
      for (int i = 0; i < window; i++)
        if (slots[i].busy && t - slots[i].sent > LOST_AFTER) slots[i].busy = 0, lost++;
      last_scan = t;
    }
    if (t >= end && sent == done + lost) break;
  }
  for (int i = 0; i < window; i++) lost += slots[i].busy ? 1 : 0;
  printf("sent %lu completed %lu lost %lu noerror %lu qps %.0f\n", sent, done, lost, ok,
         (double)done / secs);
  return 0;
}
