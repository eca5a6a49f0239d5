/* core/crashpoint.h — named instants at which a test can make berthd die as a crash would
 * (SIGKILL, nothing flushed), so that recovery from every such instant is tested rather than
 * hoped for, or pause there, to hold a window open. In berthd's environment:
 *   BERTH_CRASH_AT=NAME[:N]   SIGKILL the N-th time (default the first) NAME is reached
 *   BERTH_STALL_AT=NAME:MS    sleep MS milliseconds each time NAME is reached
 * Without them a crash point costs one load and a branch. */
#pragma once

#include <stdbool.h>

/* Read the variables once, at start-up, before any thread exists. */
void crashpoint_init(void);
/* Any thread: die (or stall) here if this is the chosen point. */
void crashpoint(const char *name);
/* Is any point armed? (For call sites that must build the name first.) */
bool crashpoint_armed(void);
