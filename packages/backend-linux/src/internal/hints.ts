/** What to do when the kernel refuses an operation: the privilege each one needs. */

/** Reading another process's /proc/PID/pagemap, maps or clear_refs. */
export const ptraceRead =
  "Reading another process's /proc/PID/pagemap and /proc/PID/maps needs ptrace read access to it: run kmm as the same user " +
  "(the process must not be undumpable), or with CAP_SYS_PTRACE; run kmm as root to scan every process"

/** Page frame numbers, /proc/kpageflags, the idle page bitmap. */
export const pfn =
  "Page frame numbers in /proc/PID/pagemap, /proc/kpageflags and the idle page bitmap need CAP_SYS_ADMIN: run kmm as root"

/** Writing /proc/PID/clear_refs (soft-dirty). */
export const clearRefs =
  "Writing /proc/PID/clear_refs (to reset soft-dirty bits) needs the process's own user or root: run kmm as that user or as root"

/** move_pages(2) of another process. */
export const movePages =
  "move_pages(2) of another process needs ptrace read access to it (the same user, or CAP_SYS_PTRACE); moving pages that other " +
  "processes also map (moveShared: true, MPOL_MF_MOVE_ALL) needs CAP_SYS_NICE: run kmm as root"

/** DAMON's sysfs interface. */
export const damon = "DAMON's sysfs files (/sys/kernel/mm/damon/admin) are root-only: run kmm as root"
