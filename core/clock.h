/* core/clock.h — the monotonic clock, for deadlines and durations (never for wall time). */
#pragma once

#include <stdint.h>

uint64_t mono_ms(void);
int64_t mono_us(void);
