/* replay.c — runs a fuzz target's entry point over files and directories
 * (the committed seed corpus) without libFuzzer, so the gcc and sanitizer
 * builds exercise every parser on every seed in ctest. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 0;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; }
            else buf = nb;
        }
    }
    fclose(f);
    if (!buf) return 0;
    LLVMFuzzerTestOneInput(buf, n);
    /* Every prefix too: truncated inputs are the most common corruption. */
    for (size_t cut = 0; cut < n; cut += 1 + n / 64) LLVMFuzzerTestOneInput(buf, cut);
    free(buf);
    return 1;
}

static int replay_path(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    if (!S_ISDIR(sb.st_mode)) return replay_file(path);
    DIR *d = opendir(path);
    if (!d) return 0;
    int count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        count += replay_path(sub);
    }
    closedir(d);
    return count;
}

int main(int argc, char **argv) {
    int count = 0;
    for (int i = 1; i < argc; i++) count += replay_path(argv[i]);
    printf("replay: %d inputs (and their prefixes) ran without a crash\n", count);
    printf("%d passed, 0 failed\n", count);
    return count > 0 ? 0 : 1;
}
