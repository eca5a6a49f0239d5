/* fs/mountinfo.h — one line of /proc/PID/mountinfo (proc(5)): the mount point, octal escapes
 * (\040 for a space ...) undone, and the optional fields ("shared:1 master:2"). */
#pragma once

#include <stdbool.h>

struct mountinfo_line {
    char *point;    /* inside the line */
    char *optional; /* inside the line; "" when it has none */
};

/* Splits line in place; false when it is no mountinfo line. */
bool mountinfo_parse(char *line, struct mountinfo_line *out);
