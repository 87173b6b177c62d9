/* link.c — the AOT step: the model's one object file linked into an ELF
 * shared object by ld.lld (lld-19), which the runtime's cpu device opens
 * with dlopen and no LLVM. The linker runs as a child process on files in a
 * private temporary directory that is removed afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/cpu/link.h"

extern char **environ;

/* ld.lld-19 or ld.lld on PATH, else LLVM 19's own copy. */
static bool find_linker(char *out, size_t n) {
    static const char *const names[] = {"ld.lld-19", "ld.lld"};
    const char *path = getenv("PATH");
    for (size_t k = 0; k < 2; k++) {
        for (const char *p = path; p && *p;) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            if (len && snprintf(out, n, "%.*s/%s", (int)len, p, names[k]) < (int)n &&
                access(out, X_OK) == 0)
                return true;
            p = colon ? colon + 1 : NULL;
        }
    }
    snprintf(out, n, "/usr/lib/llvm-19/bin/ld.lld");
    return access(out, X_OK) == 0;
}

static qc_status write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return qc_error(QC_ERR_IO, "cpu backend: cannot create '%s': %s", path, strerror(errno));
    bool ok = fwrite(p, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    return ok ? NULL : qc_error(QC_ERR_IO, "cpu backend: writing '%s' failed", path);
}

static qc_status read_file(const char *path, uint8_t **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return qc_error(QC_ERR_IO, "cpu backend: cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    qc_status st = NULL;
    uint8_t *p = NULL;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size <= 0) {
        st = qc_error(QC_ERR_IO, "cpu backend: '%s' is empty", path);
    } else if (!(p = malloc((size_t)sb.st_size))) {
        st = qc_error(QC_ERR_NOMEM, "cpu backend: out of memory reading '%s'", path);
    } else if (fread(p, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        st = qc_error(QC_ERR_IO, "cpu backend: reading '%s' failed", path);
    }
    fclose(f);
    if (st) {
        free(p);
        return st;
    }
    *out = p;
    *len = (size_t)sb.st_size;
    return NULL;
}

qc_status qc_cpu_link_shared(const uint8_t *obj, size_t len, uint8_t **so, size_t *so_len) {
    *so = NULL;
    *so_len = 0;
    char ld[4096];
    if (!find_linker(ld, sizeof ld))
        return qc_error(QC_ERR_UNSUPPORTED,
                        "cpu backend: no ld.lld-19 / ld.lld on PATH nor /usr/lib/llvm-19/bin/ld.lld "
                        "(AOT needs lld-19: scripts/setup.sh installs it)");
    const char *tmp = getenv("TMPDIR");
    char dir[4096], o_path[4160], so_path[4160], err_path[4160];
    snprintf(dir, sizeof dir, "%s/qcomp-ld-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return qc_error(QC_ERR_IO, "cpu backend: cannot create a temporary directory in %s: %s",
                        tmp && *tmp ? tmp : "/tmp", strerror(errno));
    snprintf(o_path, sizeof o_path, "%s/kernels.o", dir);
    snprintf(so_path, sizeof so_path, "%s/kernels.so", dir);
    snprintf(err_path, sizeof err_path, "%s/ld.err", dir);
    qc_status st = write_file(o_path, obj, len);
    if (!st) {
        char *argv[] = {ld, "-shared", "--hash-style=gnu", "-z", "noexecstack", "-z", "now",
                        "--build-id=none", "-soname", "qcomp-kernels.so", "-o", so_path, o_path,
                        NULL};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        pid_t pid;
        int rc = posix_spawn(&pid, ld, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        int status = 0;
        if (rc != 0) {
            st = qc_error(QC_ERR_IO, "cpu backend: cannot run '%s': %s", ld, strerror(rc));
        } else {
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char msg[512] = "";
                FILE *ef = fopen(err_path, "r");
                if (ef) {
                    size_t n = fread(msg, 1, sizeof msg - 1, ef);
                    msg[n] = 0;
                    fclose(ef);
                }
                st = qc_error(QC_ERR_INTERNAL, "cpu backend: '%s' failed (status %d): %s", ld,
                              status, msg);
            }
        }
    }
    if (!st) st = read_file(so_path, so, so_len);
    unlink(o_path);
    unlink(so_path);
    unlink(err_path);
    rmdir(dir);
    return st;
}
