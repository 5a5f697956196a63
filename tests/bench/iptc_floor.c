// The least work any libiptc user does to change a table: read the whole table, add (or remove)
// one empty chain, commit the whole table back. publish.sh times it next to 10 and next to 1000
// published ports, beside netctl's publish: how much a publish grows with the table that libiptc
// and the kernel alone account for. One change per process, as netctl makes it.
// Usage: iptc_floor add|del [CHAIN] (table nat; chain NETCTL-FLOOR). Exit 0, or 1 with a message.
// Holds the xtables lock (/run/xtables.lock) as iptables and netctl do.
#include <errno.h>
#include <fcntl.h>
#include <libiptc/libiptc.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "del") != 0)) {
    fprintf(stderr, "usage: %s add|del [CHAIN]\n", argv[0]);
    return 2;
  }
  xt_chainlabel chain = {0};
  strncpy(chain, argc > 2 ? argv[2] : "NETCTL-FLOOR", sizeof chain - 1);
  int lock = open("/run/xtables.lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) {
    fprintf(stderr, "iptc_floor: xtables lock: %s\n", strerror(errno));
    return 1;
  }
  struct xtc_handle* h = iptc_init("nat");
  if (h == NULL) {
    fprintf(stderr, "iptc_floor: read nat table: %s\n", iptc_strerror(errno));
    return 1;
  }
  int ok = argv[1][0] == 'a' ? iptc_create_chain(chain, h) : iptc_delete_chain(chain, h);
  if (!ok || !iptc_commit(h)) {
    fprintf(stderr, "iptc_floor: %s chain %s: %s\n", argv[1], chain, iptc_strerror(errno));
    return 1;
  }
  iptc_free(h);
  return 0;
}
