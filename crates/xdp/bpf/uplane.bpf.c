// SPDX-License-Identifier: MIT OR GPL-2.0
//
// uplane's XDP program: the first thing a frame meets on an interface uplane owns.
//
//   1. parse Ethernet, up to two VLAN tags (802.1Q / 802.1ad), IPv4 or IPv6;
//   2. look the source address up in the block lists (LPM tries `block_v4`, `block_v6`):
//      a match is dropped here, in the driver, and counted (and the entry's hit count
//      bumped) -- it never reaches uplane or the kernel stack;
//   3. send what uplane should see to the AF_XDP socket of this rx queue (XSKMAP `xsks`);
//      if no socket is registered for the queue, the frame goes to the kernel (XDP_PASS);
//   4. pass the rest to the kernel.
//
// Policy (`config[0]`, bit flags; default 0 = everything to uplane, what a router wants):
//   UPLANE_PASS_NON_IP  ARP and every non-IP ethertype go to the kernel instead of uplane
//                       (a host that shares the interface with the kernel).
//
// Frames the program cannot parse far enough to check the block list -- shorter than an
// Ethernet header, a VLAN tag cut short, more than two tags in front of IP, an IPv4 header
// shorter than 20 bytes or with IHL < 5, an IPv6 header shorter than 40 bytes -- are
// dropped and counted as parse errors: a block list that a short header or a third tag
// steps around would not be one.
//
// Counters: `counters` is a PERCPU_ARRAY indexed by `enum uplane_counter` (packets); user
// space sums the CPUs.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8

#define UPLANE_PASS_NON_IP 1u

enum uplane_counter {
	CNT_PASS = 0,          /* handed to the kernel by policy */
	CNT_REDIRECT = 1,      /* redirected to uplane's AF_XDP socket */
	CNT_DROP_BLOCK_V4 = 2, /* IPv4 source in block_v4 */
	CNT_DROP_BLOCK_V6 = 3, /* IPv6 source in block_v6 */
	CNT_DROP_PARSE = 4,    /* headers cut short or too many tags */
	CNT_PASS_NO_XSK = 5,   /* meant for uplane, but no socket on this queue */
	CNT_MAX = 8,
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 64);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v4_key);
	__type(value, __u64); /* hits */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
} block_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v6_key);
	__type(value, __u64); /* hits */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
} block_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CNT_MAX);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} config SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		*c += 1; /* per CPU: no other writer */
}

static __always_inline int drop(__u32 why)
{
	count(why);
	return XDP_DROP;
}

static __always_inline int to_uplane(struct xdp_md *ctx)
{
	int rc = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	count(rc == XDP_REDIRECT ? CNT_REDIRECT : CNT_PASS_NO_XSK);
	return rc;
}

SEC("xdp")
int uplane_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	__u32 *cfg = bpf_map_lookup_elem(&config, &zero);
	__u32 flags = cfg ? *cfg : 0;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return drop(CNT_DROP_PARSE);
	__u16 proto = eth->h_proto;
	void *l3 = eth + 1;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q_) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		/* A tag: TCI (2 bytes), then the inner ethertype (2 bytes). */
		if (l3 + 4 > end)
			return drop(CNT_DROP_PARSE);
		proto = *(__u16 *)(l3 + 2);
		l3 += 4;
	}
	if (proto == bpf_htons(ETH_P_8021Q_) || proto == bpf_htons(ETH_P_8021AD_))
		return drop(CNT_DROP_PARSE); /* a third tag */

	if (proto == bpf_htons(ETH_P_IP)) {
		__u8 *ip = l3;
		if ((void *)(ip + 20) > end || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
			return drop(CNT_DROP_PARSE);
		struct lpm_v4_key k = { .prefixlen = 32 };
		__builtin_memcpy(k.addr, ip + 12, 4);
		__u64 *hits = bpf_map_lookup_elem(&block_v4, &k);
		if (hits) {
			__sync_fetch_and_add(hits, 1);
			return drop(CNT_DROP_BLOCK_V4);
		}
		return to_uplane(ctx);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		__u8 *ip6 = l3;
		if ((void *)(ip6 + 40) > end || (ip6[0] >> 4) != 6)
			return drop(CNT_DROP_PARSE);
		struct lpm_v6_key k = { .prefixlen = 128 };
		__builtin_memcpy(k.addr, ip6 + 8, 16);
		__u64 *hits = bpf_map_lookup_elem(&block_v6, &k);
		if (hits) {
			__sync_fetch_and_add(hits, 1);
			return drop(CNT_DROP_BLOCK_V6);
		}
		return to_uplane(ctx);
	}
	if (flags & UPLANE_PASS_NON_IP) {
		count(CNT_PASS);
		return XDP_PASS;
	}
	return to_uplane(ctx);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
