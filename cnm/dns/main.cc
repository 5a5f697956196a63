// netctl-dns: the per-root DNS server (placeholder until the server lands).
int main() { return 0; }
