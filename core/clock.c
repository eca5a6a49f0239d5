/* core/clock.c — see clock.h. */
#include "core/clock.h"

#include <time.h>

static struct timespec mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

uint64_t mono_ms(void)
{
    struct timespec ts = mono_now();
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t mono_us(void)
{
    struct timespec ts = mono_now();
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
