/* net/network/usernet.h — user-defined bridge networks (docker network create -d bridge): each
 * one a struct netbr of its own (a bridge br-<12 hex of its ID> unless named, its subnet and
 * gateway, its nft element), its record in ROOT/networks/<ID>.json (replaced atomically), and
 * the names its containers answer to (dns_names.h). The list lives on the reactor thread; the
 * bridge of each is made on the pool (usernet_open, usernet_destroy). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/err.h"
#include "net/network/bridge.h"

struct dns_names;

struct usernet {
    char id[65];
    char *name;
    char *driver;     /* "bridge", "macvlan" or "ipvlan" (net/network/lowernet.h) */
    bool made_parent; /* macvlan/ipvlan: berth made its parent link (dockerd's CreatedSlaveLink) */
    char *created;    /* RFC 3339 */
    bool internal, attachable;
    json_t *labels;                    /* {} */
    json_t *options;                   /* the driver options as given ({}) */
    char *subnet, *gateway, *ip_range; /* as asked (NULL: picked), then as settled */
    struct ipam_aux *aux;              /* --aux-address: reserved in its subnet */
    size_t n_aux;
    struct netbr_config cfg; /* what usernet_open makes */
    struct netbr *br;        /* NULL until opened (or when it could not be) */
    struct dns_names *dns;   /* its containers' names (reactor) */
};

struct usernets {
    char *dir; /* ROOT/networks */
    struct usernet **v;
    size_t n;
};

/* Reactor: a create request (dockerd's NetworkCreateRequest) checked with dockerd's words
 * against the networks there are (names also "bridge", "host", "none", taken by predefined
 * networks; default_subnet: the default bridge's, NULL when none): 409 "network with name X
 * already exists" (EEXIST), 403 (EACCES) "invalid pool request: Pool overlaps with other one on
 * this address space", 400 for what berth does not do yet (other drivers, IPv6, aux addresses,
 * several subnets); macvlan and ipvlan options and parents as lowernet.h checks them. */
int usernet_parse(const json_t *req, const struct usernets *all, const struct ipam_prefix *dflt,
                  struct usernet **out, struct berth_err **err);
/* Pool: its bridge made (or reused) and its record written. */
int usernet_open(struct usernet *n, const char *dir, struct berth_err **err);
/* Pool: its record removed, its bridge and nft element gone (n->br freed, n->br NULL). */
void usernet_destroy(struct usernet *n, const char *dir);
void usernet_free(struct usernet *n);
/* Its --aux-address entries as inspect's AuxiliaryAddresses ({name: address}). */
json_t *usernet_aux_json(const struct usernet *n);

struct usernets *usernets_new(const char *dir);
/* Every network freed (their bridges stay on the host, as the default bridge's). */
void usernets_free(struct usernets *all);
/* Blocking, at start-up before the API listens: every record of dir read into the list. */
void usernets_read(struct usernets *all);
/* Pool, at start-up after the default bridge and before any container starts: each network's
 * bridge made or reused (one that cannot be is logged and kept without a bridge). */
void usernets_open_all(struct usernets *all);
/* Reactor: by full ID, full name, then unique ID prefix (dockerd's lookup); NULL: none. */
struct usernet *usernets_find(const struct usernets *all, const char *term);
void usernets_add(struct usernets *all, struct usernet *n);
/* Off the list; a parent link berth made for it is kept when another network still uses it. */
void usernets_remove(struct usernets *all, struct usernet *n);
