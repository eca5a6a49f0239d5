/* exec/resolvconf.h — a container's /etc/resolv.conf as libnetwork writes it for a sandbox of its
 * own (network none or host) or on the default bridge: the host's file read as the resolver reads
 * it, with --dns,
 * --dns-search and --dns-option replacing its nameservers, search domains and options. */
#pragma once

#include <jansson.h>

/* host: the host's resolv.conf text; dns, search, options: HostConfig.Dns, DnsSearch and
 * DnsOptions (each replaces the host's when it is a non-empty list; a search list of only "."
 * removes the search line). Lines come as libnetwork orders them: nameserver, search, options,
 * then the host's other directives; comments and blank lines are dropped, and so are
 * nameservers that are not IP addresses. Heap string. */
char *resolvconf_build(const char *host, const json_t *dns, const json_t *search,
                       const json_t *options);
/* The same for a container on the default bridge (libnetwork's TransformForLegacyNw, IPv4-only
 * network): the host's loopback and IPv6 nameservers dropped, and 8.8.8.8 and 8.8.4.4 when none
 * is left; --dns servers are kept as given. */
char *resolvconf_build_bridge(const char *host, const json_t *dns, const json_t *search,
                              const json_t *options);
/* For a container on a user network: nameserver 127.0.0.11 (the embedded DNS server, which
 * forwards to the host's or --dns servers), the search domains as above and "options ndots:0"
 * before the others, as libnetwork's rewrite for its resolver. */
char *resolvconf_build_user(const char *host, const json_t *search, const json_t *options);
