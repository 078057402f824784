/*
 * procstat.c -- process_* metrics from /proc (contract in procstat.h).
 *
 * /proc/self/stat's second field is the command name in parentheses and may itself
 * contain ") " or spaces, so parsing starts after the LAST ')'.
 */
#include "exporter/procstat.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static ssize_t ps_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    return (ssize_t)n;
}

int procstat_parse_stat(const char *text, uint64_t *cpu_ticks, uint64_t *start_ticks,
                        uint64_t *vsize, uint64_t *rss_pages)
{
    const char *p = strrchr(text, ')');
    if (!p)
        return -1;
    p++;
    /* After ')': field 3 (state) is index 0 here. utime=14, stime=15, starttime=22,
     * vsize=23, rss=24 in proc(5) numbering -> indices 11, 12, 19, 20, 21. */
    uint64_t f[22];
    int idx = 0;
    while (idx < 22) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        if (idx == 0) {
            p++; /* the state letter */
            f[idx++] = 0;
            continue;
        }
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            return -1;
        f[idx++] = v < 0 ? 0 : (uint64_t)v;
        p = end;
    }
    *cpu_ticks = f[11] + f[12];
    *start_ticks = f[19];
    *vsize = f[20];
    *rss_pages = f[21];
    return 0;
}

unsigned procstat_read(struct procstat *ps)
{
    char buf[4096];
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    memset(ps, 0, sizeof *ps);
    uint64_t cpu, start, vs, rss;
    if (hz > 0 && page > 0 && ps_read_file("/proc/self/stat", buf, sizeof buf) > 0 &&
        procstat_parse_stat(buf, &cpu, &start, &vs, &rss) == 0) {
        ps->cpu_seconds = (double)cpu / (double)hz;
        ps->vsize_bytes = vs;
        ps->rss_bytes = rss * (uint64_t)page;
        ps->have |= PROCSTAT_HAVE_STAT;
        /* btime is in /proc/stat, which can be long on many-CPU hosts: scan lines. */
        FILE *f = fopen("/proc/stat", "re");
        if (f) {
            char line[512];
            while (fgets(line, sizeof line, f)) {
                if (strncmp(line, "btime ", 6) == 0) {
                    ps->start_time_seconds =
                        (double)strtoull(line + 6, NULL, 10) + (double)start / (double)hz;
                    ps->have |= PROCSTAT_HAVE_START;
                    break;
                }
            }
            fclose(f);
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        uint64_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
        ps->open_fds = n ? n - 1 : 0; /* minus the directory stream's own fd */
        ps->have |= PROCSTAT_HAVE_FDS;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        ps->max_fds = (uint64_t)rl.rlim_cur;
        if (getrlimit(RLIMIT_AS, &rl) == 0) {
            ps->vmax_bytes = rl.rlim_cur == RLIM_INFINITY ? -1.0 : (double)rl.rlim_cur;
            ps->have |= PROCSTAT_HAVE_LIMITS;
        }
    }
    return ps->have;
}

void procstat_render(struct expo *e)
{
    struct procstat ps;
    unsigned have = procstat_read(&ps);
    if (have & PROCSTAT_HAVE_STAT) {
        expo_family(e, "process_cpu_seconds_total", EXPO_COUNTER,
                    "CPU time used by this process, user plus system, in seconds.");
        expo_sample(e, NULL, 0, ps.cpu_seconds);
        expo_family(e, "process_resident_memory_bytes", EXPO_GAUGE,
                    "Bytes of this process held in RAM (RSS).");
        expo_sample_u64(e, NULL, 0, ps.rss_bytes);
        expo_family(e, "process_virtual_memory_bytes", EXPO_GAUGE,
                    "Bytes of address space this process has mapped.");
        expo_sample_u64(e, NULL, 0, ps.vsize_bytes);
    }
    if (have & PROCSTAT_HAVE_START) {
        expo_family(e, "process_start_time_seconds", EXPO_GAUGE,
                    "When this process started, as a Unix time in seconds.");
        expo_sample(e, NULL, 0, ps.start_time_seconds);
    }
    if (have & PROCSTAT_HAVE_FDS) {
        expo_family(e, "process_open_fds", EXPO_GAUGE, "File descriptors this process has open.");
        expo_sample_u64(e, NULL, 0, ps.open_fds);
    }
    if (have & PROCSTAT_HAVE_LIMITS) {
        expo_family(e, "process_max_fds", EXPO_GAUGE,
                    "Soft limit on open file descriptors (RLIMIT_NOFILE).");
        expo_sample_u64(e, NULL, 0, ps.max_fds);
        expo_family(e, "process_virtual_memory_max_bytes", EXPO_GAUGE,
                    "Soft limit on address space (RLIMIT_AS) in bytes; -1 when unlimited.");
        expo_sample(e, NULL, 0, ps.vmax_bytes);
    }
}
