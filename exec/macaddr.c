/* exec/macaddr.c — --mac-address at create, as dockerd's router settles it before the container
 * exists (moby daemon/server/router/container: handleMACAddressBC). */
#include "exec/macaddr.h"

#include <errno.h>
#include <string.h>

#include "core/json.h"

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Two hex digits at s. */
static int hexbyte(const char *s)
{
    int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
    return lo < 0 ? -1 : hi << 4 | lo;
}

int macaddr_parse(const char *s, unsigned char out[20])
{
    size_t len = strlen(s);
    int n;
    if (len < 14)
        return 0;
    if (s[2] == ':' || s[2] == '-') {
        if ((len + 1) % 3)
            return 0;
        n = (int)((len + 1) / 3);
        if (n != 6 && n != 8 && n != 20)
            return 0;
        for (int i = 0; i < n; i++) {
            int b = hexbyte(s + 3 * i);
            if (b < 0 || (i < n - 1 && s[3 * i + 2] != s[2]))
                return 0;
            out[i] = (unsigned char)b;
        }
        return n;
    }
    if (s[4] != '.' || (len + 1) % 5)
        return 0;
    n = (int)(2 * (len + 1) / 5);
    if (n != 6 && n != 8 && n != 20)
        return 0;
    for (int i = 0; i < n; i += 2) {
        const char *g = s + 5 * (i / 2);
        int hi = hexbyte(g), lo = hexbyte(g + 2);
        if (hi < 0 || lo < 0 || (i < n - 2 && g[4] != '.'))
            return 0;
        out[i] = (unsigned char)hi;
        out[i + 1] = (unsigned char)lo;
    }
    return n;
}

static bool same_mac(const char *a, const char *b)
{
    unsigned char x[20], y[20];
    int n = macaddr_parse(a, x);
    return n && n == macaddr_parse(b, y) && memcmp(x, y, (size_t)n) == 0;
}

/* An address as Go's JSON decoding of a HardwareAddr checks it ("" is none). */
static int check(const char *mac, struct berth_err **err)
{
    unsigned char b[20];
    if (!mac || !*mac || macaddr_parse(mac, b))
        return 0;
    return berth_user_error(err, EINVAL, "invalid JSON: address %s: invalid MAC address", mac);
}

/* The network mode's endpoint in EndpointsConfig ("default" is bridge's other name). */
static json_t *endpoint_of(const json_t *endpoints, const char *mode)
{
    json_t *ep = json_object_get(endpoints, mode);
    if (!ep && strcmp(mode, "bridge") == 0)
        ep = json_object_get(endpoints, "default");
    return ep;
}

int macaddr_settle(json_t *body, bool before_1_44, json_t *warnings, struct berth_err **err)
{
    const char *mode = json_get_str(json_object_get(body, "HostConfig"), "NetworkMode");
    json_t *endpoints =
        json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
    const char *wide = json_get_str(body, "MacAddress"), *name;
    json_t *ep;
    if (!mode || !*mode || strcmp(mode, "default") == 0)
        mode = "bridge";
    /* as moby's mode checks: anything but none, host and container:X is bridge or a network */
    bool bridge_like = strcmp(mode, "none") != 0 && strcmp(mode, "host") != 0 &&
                       strncmp(mode, "container:", 10) != 0;
    int r = check(wide, err);
    if (r < 0)
        return r;
    json_object_foreach(endpoints, name, ep)
    {
        if ((r = check(json_get_str(ep, "MacAddress"), err)) < 0)
            return r;
    }
    const char *want = json_get_str(endpoint_of(endpoints, mode), "MacAddress");
    if (before_1_44) { /* the endpoint's field did not exist yet: ignored */
        if (wide && *wide && !bridge_like)
            return berth_user_error(err, EINVAL,
                                    "conflicting options: mac-address and the network mode");
        want = wide;
    } else if (wide && *wide) {
        if (bridge_like && want && *want && !same_mac(want, wide))
            return berth_user_error(err, EINVAL,
                                    "the container-wide MAC address must match the "
                                    "endpoint-specific MAC address for the main network, or be "
                                    "left empty");
        if (bridge_like && (!want || !*want))
            want = wide;
        json_array_append_new(warnings,
                              json_string("The container-wide MacAddress field is now deprecated. "
                                          "It should be specified in EndpointsConfig instead."));
    }
    if (want && *want)
        json_object_set_new(body, "MacAddress", json_string(want));
    else
        json_object_del(body, "MacAddress");
    return 0;
}
