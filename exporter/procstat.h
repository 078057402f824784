/*
 * procstat.h -- the standard process_* metrics, read from Linux /proc at scrape time.
 *
 * Families (names and meaning as every Prometheus client library exposes them):
 *   process_cpu_seconds_total        user + system CPU time
 *   process_resident_memory_bytes    RSS
 *   process_virtual_memory_bytes     virtual size
 *   process_virtual_memory_max_bytes RLIMIT_AS (-1 when unlimited, like client_golang)
 *   process_open_fds                 open file descriptors
 *   process_max_fds                  RLIMIT_NOFILE soft limit
 *   process_start_time_seconds       start time, Unix seconds
 *
 * Reads /proc/self/stat, /proc/stat (btime) and /proc/self/fd. Safe from any thread;
 * no state. A family whose source cannot be read is left out of the scrape (never a
 * made-up value).
 */
#ifndef IOTPRO_EXPORTER_PROCSTAT_H
#define IOTPRO_EXPORTER_PROCSTAT_H

#include "exporter/expo.h"

#include <stdint.h>

struct procstat {
    double cpu_seconds;
    uint64_t rss_bytes, vsize_bytes;
    double vmax_bytes; /* -1 = unlimited */
    uint64_t open_fds, max_fds;
    double start_time_seconds;
    unsigned have; /* PROCSTAT_HAVE_* bits of what could be read */
};
#define PROCSTAT_HAVE_STAT   1u /* cpu, rss, vsize */
#define PROCSTAT_HAVE_START  2u
#define PROCSTAT_HAVE_FDS    4u
#define PROCSTAT_HAVE_LIMITS 8u

/* Fills *ps for the calling process; returns the `have` bits. */
unsigned procstat_read(struct procstat *ps);
/* Parses the text of /proc/<pid>/stat (exposed for tests): fills cpu ticks, rss pages,
 * vsize and start ticks. 0 on success, -1 if malformed. */
int procstat_parse_stat(const char *text, uint64_t *utime_stime_ticks, uint64_t *start_ticks,
                        uint64_t *vsize, uint64_t *rss_pages);
/* Reads and renders every family it could read. */
void procstat_render(struct expo *e);

#endif
