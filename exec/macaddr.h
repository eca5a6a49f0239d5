/* exec/macaddr.h — the MAC address a container asks for (--mac-address: the endpoint's
 * MacAddress of its network, or the deprecated container-wide Config.MacAddress), settled as
 * dockerd's create does and kept as Config.MacAddress for the networking code and inspect. */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "core/err.h"

/* body is the create request, changed in place: Config.MacAddress becomes the address the
 * container's network endpoint wants (removed when none). As dockerd's handleMACAddressBC:
 * before API 1.44 only Config.MacAddress counts, and it conflicts with a network mode other
 * than bridge ("conflicting options: mac-address and the network mode"); from 1.44 the
 * endpoint's counts, a Config.MacAddress as well for bridge (it must then match the
 * endpoint's), with dockerd's deprecation warning added to warnings. A malformed address is
 * EINVAL in Go's JSON words ("invalid JSON: address x: invalid MAC address"). */
int macaddr_settle(json_t *body, bool before_1_44, json_t *warnings, struct berth_err **err);

/* Go's net.ParseMAC forms (6, 8 or 20 bytes; xx:xx, xx-xx or xxxx.xxxx): the byte count, 0
 * when malformed; out (20 bytes) gets the bytes. */
int macaddr_parse(const char *s, unsigned char out[20]);
