/*
 * The chaos run's wall-clock step (scripts/chaos, scenario step), preloaded into a
 * controller: the wall clock (CLOCK_REALTIME through clock_gettime, gettimeofday and time) is
 * BERTH_WALL_OFFSET seconds off, from BERTH_WALL_STEP_AFTER seconds after the process started
 * (0: from the start). The monotonic clocks and every timer are left alone, as a real step of
 * the system clock leaves them; libfaketime also moves absolute timerfd deadlines on the
 * monotonic clock, so a controller stepped back under it slept for hours.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static long offset_seconds;
static time_t step_at;

__attribute__((constructor)) static void start(void) {
    real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    const char *offset = getenv("BERTH_WALL_OFFSET");
    const char *after = getenv("BERTH_WALL_STEP_AFTER");
    offset_seconds = offset ? atol(offset) : 0;
    struct timespec now;
    real_clock_gettime(CLOCK_MONOTONIC, &now);
    step_at = now.tv_sec + (after ? atol(after) : 0);
}

static long current_offset(void) {
    struct timespec now;
    real_clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec >= step_at ? offset_seconds : 0;
}

int clock_gettime(clockid_t clock, struct timespec *time) {
    int result = real_clock_gettime(clock, time);
    if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) time->tv_sec += current_offset();
    return result;
}

int gettimeofday(struct timeval *restrict value, void *restrict zone) {
    (void)zone;
    struct timespec now;
    int result = clock_gettime(CLOCK_REALTIME, &now);
    if (result == 0) {
        value->tv_sec = now.tv_sec;
        value->tv_usec = now.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *value) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (value) *value = now.tv_sec;
    return now.tv_sec;
}
