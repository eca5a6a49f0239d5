/* fs/mountinfo.c — one line of mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] -
 * FSTYPE SOURCE SUPER". */
#include "fs/mountinfo.h"

#include <string.h>

/* The kernel's octal escapes undone, in place. */
static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

bool mountinfo_parse(char *line, struct mountinfo_line *out)
{
    char *f[6], *rest = line;
    size_t i;
    for (i = 0; i < 6 && rest; i++) {
        f[i] = rest;
        rest = strchr(rest, ' ');
        if (rest)
            *rest++ = '\0';
    }
    if (i < 6 || !rest)
        return false;
    char *dash = strncmp(rest, "- ", 2) == 0 ? rest : strstr(rest, " - ");
    if (dash) /* the optional fields end there */
        *dash = '\0';
    unescape(f[4]);
    *out = (struct mountinfo_line){.point = f[4], .optional = rest};
    return true;
}
