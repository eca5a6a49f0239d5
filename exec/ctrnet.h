/* exec/ctrnet.h — a container on the default network `bridge`: its endpoint (address, MAC, veth)
 * taken at start, its network namespace made and plumbed before its process exists (the child
 * only enters it), the endpoint recorded in the container for inspect and given back at its
 * end. A container on any other network costs the start path one string compare. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "exec/container.h"
#include "exec/run.h"

struct exec_env;
struct usernet;
struct ctrnet; /* one run's network: its endpoint and, during the start, its netns */

/* The network the container's HostConfig puts it on is the default bridge ("", "default" or
 * "bridge") and the daemon has one (daemon.json "bridge" is not "none"). */
bool ctrnet_on_bridge(const json_t *host_config, bool default_bridge);
/* NetworkMode names a user-defined network (not default, bridge, none, host, container:X). */
bool ctrnet_user_mode(const char *mode);

/* Reactor, at ctr_start: NULL in *out (and 0) when the container is not on the default bridge.
 * Else its endpoint with an address from the bridge's pool (errors: the pool is full, a MAC
 * that is not 6 bytes, the bridge not set up). */
int ctrnet_prepare(struct exec_env *env, const struct container *c, struct ctrnet **out,
                   struct berth_err **err);
/* Pool (the start job): a new network namespace, the endpoint plumbed into it. n NULL: 0. */
int ctrnet_setup(struct ctrnet *n, const struct container *c, struct berth_err **err);
/* The namespace the process enters (-1: none, n NULL too). */
int ctrnet_netns(const struct ctrnet *n);
/* Pool: the process is cloned (or failed): berthd's reference to the namespace goes, so the
 * namespace (and with it the veth pair) lives exactly as long as what is in it. */
void ctrnet_spawned(struct ctrnet *n);
/* Pool: a start that failed after ctrnet_setup (its process never ran). */
void ctrnet_undo(struct ctrnet *n, const char *ctr_id);
/* The /etc/hosts line of the container's address (dockerd's makeHostsRecs: "IP\tFQDN HOST"),
 * appended to out; nothing when n is NULL. */
void ctrnet_hosts_line(const struct ctrnet *n, const char *hostname, const char *domainname,
                       struct buf *out);
void ctrnet_hosts_record(const char *ip, const char *hostname, const char *domainname,
                         struct buf *out);
/* Whether its container gets the embedded DNS server (127.0.0.11): on a user network, or on the
 * default bridge with a user network connected (dockerd starts its resolver then). */
bool ctrnet_wants_resolver(const struct ctrnet *n);
/* Timings of the start's network phases (0 when not on the bridge). */
void ctrnet_times(const struct ctrnet *n, int64_t *netns_us, int64_t *plumb_us);

/* Reactor: the process runs: its endpoint goes into c->net (what inspect and the record show). */
void ctrnet_record(struct ctrnet *n, struct exec_env *env, struct container *c);
/* Reactor, at its end, before the cleanup job: whether another running container shares its
 * netns (--network container:ID), which then outlives it and keeps the veth. */
bool ctrnet_shared(struct exec_env *env, const struct container *c);
/* Pool (the cleanup job): the firewall's endpoint rules go, and with shared the veth itself. */
void ctrnet_unplumb(struct ctrnet *n, const char *ctr_id, bool shared);
/* Reactor: the address back to the pool, c->net cleared of what only a running endpoint has
 * (dockerd keeps NetworkID), and n freed. n NULL is fine. */
void ctrnet_release(struct exec_env *env, struct ctrnet *n, struct container *c);

/* Reactor, at start-up once the default bridge exists (or is known to be off): no container runs
 * yet, so every address a record kept is released (cleared from c->net, the record saved), on
 * the default bridge and user networks alike; a container found running keeps its own. */
void ctrnet_recover(struct exec_env *env);

/* ---- docker network connect / disconnect (exec/ctrnet_connect.c) ---- */

/* Whether it is on the network (its primary, or one connected while it runs). */
bool ctrnet_on_network(const struct container *c, const char *name);
/* Reactor: a running container on the default bridge or a user network gets an endpoint on un
 * (the next ethN, epcfg's IPAMConfig.IPv4Address and Aliases), plumbed on the pool; done once it
 * is there. dockerd's words for host, none and container:X; "endpoint with name C already
 * exists in network N" (EACCES). */
int ctrnet_connect(struct exec_env *env, struct container *c, struct usernet *un,
                   const json_t *epcfg, ctr_done_fn done, void *ctx, struct berth_err **err);
/* Reactor: the endpoint on un of a network connected while it runs goes (veth deleted, address
 * back); its primary network is refused by name. */
int ctrnet_disconnect(struct exec_env *env, struct container *c, struct usernet *un,
                      ctr_done_fn done, void *ctx, struct berth_err **err);
