// A CNI plugin that does nothing: cni.sh times cnitool with it to show what cnitool and libcni
// cost by themselves (Go start, the conflist, the exec, the result cache), in every tool's figure.
// ADD answers an empty 1.0.0 result, VERSION the versions; DEL and anything else answer nothing.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char buf[8192];
  while (read(0, buf, sizeof buf) > 0) {
  }
  const char* cmd = getenv("CNI_COMMAND");
  if (cmd && strcmp(cmd, "ADD") == 0) puts("{\"cniVersion\":\"1.0.0\"}");
  if (cmd && strcmp(cmd, "VERSION") == 0)
    puts("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\"]}");
  return 0;
}
