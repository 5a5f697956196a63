// The exec stub's bytes (built from dmz/main.c by CMake; NETCTL_DMZ_PATH names the binary).
__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".global netctl_dmz_start\n"
    ".global netctl_dmz_end\n"
    "netctl_dmz_start:\n"
    ".incbin \"" NETCTL_DMZ_PATH
    "\"\n"
    "netctl_dmz_end:\n"
    ".previous\n");
