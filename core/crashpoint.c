/* core/crashpoint.c — see crashpoint.h. The SIGKILL is raised by the process itself, so what
 * is on disk at that instant is exactly what a kill -9, an OOM kill or a segfault would
 * leave. */
#include "core/crashpoint.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

static char *crash_name, *stall_name; /* NULL: not armed */
static atomic_long crash_left;        /* reached this many more times before dying */
static long stall_ms;

/* "NAME:NUMBER" → the name (heap) and the number, or dflt without one (a name may hold a
 * colon itself: "write:container.json"). */
static char *parse(const char *spec, long dflt, long *n)
{
    char *name = xstrdup(spec), *colon = strrchr(name, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        *n = strtol(colon + 1, NULL, 10);
        *colon = '\0';
    } else {
        *n = dflt;
    }
    return name;
}

void crashpoint_init(void)
{
    const char *crash = getenv("BERTH_CRASH_AT"), *stall = getenv("BERTH_STALL_AT");
    long n;
    if (crash && *crash) {
        crash_name = parse(crash, 1, &n);
        atomic_store(&crash_left, n > 0 ? n : 1);
        log_warn("crash point `%s` armed (hit %ld): berthd will kill itself there", crash_name,
                 n > 0 ? n : 1);
    }
    if (stall && *stall) {
        stall_name = parse(stall, 1000, &stall_ms);
        log_warn("stall point `%s` armed: %ld ms", stall_name, stall_ms);
    }
}

void crashpoint(const char *name)
{
    if (stall_name && strcmp(stall_name, name) == 0) {
        log_warn("stall point `%s` reached: sleeping %ld ms", name, stall_ms);
        nanosleep(
            &(struct timespec){.tv_sec = stall_ms / 1000, .tv_nsec = (stall_ms % 1000) * 1000000},
            NULL);
    }
    if (!crash_name || strcmp(crash_name, name) != 0 || atomic_fetch_sub(&crash_left, 1) != 1)
        return;
    log_warn("crash point `%s` reached: SIGKILL", name);
    kill(getpid(), SIGKILL);
    pause(); /* the signal is on its way; nothing more may happen here */
}

bool crashpoint_armed(void)
{
    return crash_name || stall_name;
}
