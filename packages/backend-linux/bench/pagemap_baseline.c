/*
 * The C baseline of the pagemap benchmark: reads /proc/PID/pagemap over the given
 * ranges of virtual pages with pread, CHUNK entries per call (the backend's chunk
 * size), and decodes each entry as a scan does (present bit, page frame number into an
 * array), RUNS times. Prints one line per run: "pages seconds".
 *
 *   pagemap_baseline PID RUNS CHUNK START:PAGES [START:PAGES ...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: pagemap_baseline PID RUNS CHUNK START:PAGES...\n");
    return 2;
  }
  int runs = atoi(argv[2]);
  long chunk = atol(argv[3]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/pagemap", argv[1]);
  uint64_t *entries = malloc(chunk * sizeof(uint64_t));
  uint64_t *pfn = malloc(chunk * sizeof(uint64_t));
  if (entries == NULL || pfn == NULL) return 1;
  for (int r = 0; r < runs; r++) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      perror(path);
      return 1;
    }
    double t0 = now();
    long pages = 0, present = 0;
    for (int a = 4; a < argc; a++) {
      unsigned long start, count;
      if (sscanf(argv[a], "%lu:%lu", &start, &count) != 2) return 2;
      for (unsigned long off = 0; off < count; off += chunk) {
        long n = count - off < (unsigned long)chunk ? (long)(count - off) : chunk;
        ssize_t got = pread(fd, entries, n * sizeof(uint64_t), (off_t)((start + off) * sizeof(uint64_t)));
        if (got != (ssize_t)(n * sizeof(uint64_t))) {
          fprintf(stderr, "short read\n");
          return 1;
        }
        long k = 0;
        for (long i = 0; i < n; i++) {
          uint64_t e = entries[i];
          if (e >> 63) pfn[k++] = e & ((1ULL << 55) - 1);
        }
        present += k;
        pages += n;
      }
    }
    double t1 = now();
    close(fd);
    printf("%ld %.9f %ld\n", pages, t1 - t0, present);
    fflush(stdout);
  }
  return 0;
}
