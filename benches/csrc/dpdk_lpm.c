/* A thin C shim over DPDK's rte_lpm / rte_lpm6 for the lpm4_bulk benchmark: the bulk
 * lookups are static inline functions in DPDK's headers, so they are compiled here, with
 * DPDK's own flags, and called once per batch from Rust. */
#include <stdint.h>
#include <rte_eal.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

int uplane_dpdk_init(void) {
	char *argv[] = {"uplane-bench", "--no-huge", "--no-pci", "-m", "2048",
			"--log-level=3", "--no-telemetry", NULL};
	return rte_eal_init(7, argv);
}

void *uplane_lpm_create(uint32_t max_rules, uint32_t tbl8s) {
	struct rte_lpm_config c = {.max_rules = max_rules, .number_tbl8s = tbl8s, .flags = 0};
	return rte_lpm_create("uplane-bench4", SOCKET_ID_ANY, &c);
}

int uplane_lpm_add(void *lpm, uint32_t ip, uint8_t depth, uint32_t nh) {
	return rte_lpm_add(lpm, ip, depth, nh);
}

void uplane_lpm_lookup_bulk(void *lpm, const uint32_t *ips, uint32_t *out, uint32_t n) {
	rte_lpm_lookup_bulk((struct rte_lpm *)lpm, ips, out, n);
}

void *uplane_lpm6_create(uint32_t max_rules, uint32_t tbl8s) {
	struct rte_lpm6_config c = {.max_rules = max_rules, .number_tbl8s = tbl8s, .flags = 0};
	return rte_lpm6_create("uplane-bench6", SOCKET_ID_ANY, &c);
}

int uplane_lpm6_add(void *lpm, const uint8_t *ip, uint8_t depth, uint32_t nh) {
	return rte_lpm6_add(lpm, ip, depth, nh);
}

void uplane_lpm6_lookup_bulk(void *lpm, const uint8_t *ips, int32_t *out, uint32_t n) {
	rte_lpm6_lookup_bulk_func(lpm, (uint8_t (*)[16])ips, out, n);
}

void uplane_lpm6_free(void *lpm) {
	rte_lpm6_free(lpm);
}
