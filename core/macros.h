/* core/macros.h — the two macros every C code base grows: the element count of an array, and
 * the struct that holds a member (how a callback gets from its embedded job or timer back to
 * its owner). */
#pragma once

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The struct of type `type` whose member `member` is at ptr. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
