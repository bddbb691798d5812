#!/bin/sh
# bench/probe-baseline.sh: the shell a person would write to collect what `nettune probe --json`
# collects, with the tools it replaces, source for source (the same list as the fleet's raw
# collection, src/probe/raw.ts): the sysctls the probe records (net.*, with the two procps hides
# without --deprecated, and four fs/vm knobs; not all of `sysctl -a`), the /proc/net counters,
# memory, CPUs, kernel and host identity, the namespace inodes, page size; links from sysfs (with
# every queue's RPS/XPS mask and the driver link) and ip, qdiscs, routes and rules of both
# families, MPTCP, and per device the ethtool queries the probe makes (features and channels
# everywhere; driver, rings and coalescing on physical devices; RSS and flow hashing where there
# is more than one RX queue). It asks `ethtool -l` of every device: the probe skips it on loopback
# and bridge, whose drivers have no channels (it sees them in sysfs; one process fewer here, for
# lo). Output goes to stdout (bench/probe.mjs discards it). Run serially, as such a script would.
sysctl --deprecated net fs.file-max fs.nr_open fs.file-nr vm.min_free_kbytes 2>/dev/null
cat /proc/net/snmp /proc/net/snmp6 /proc/net/netstat /proc/net/sockstat /proc/net/sockstat6 /proc/net/softnet_stat /proc/meminfo /sys/devices/system/cpu/online
cat /proc/net/stat/nf_conntrack 2>/dev/null
cat /proc/sys/kernel/osrelease /proc/sys/kernel/version /proc/sys/kernel/random/boot_id
cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id 2>/dev/null
uname -n -m
stat -L -c %i /proc/self/ns/net /proc/1/ns/net 2>/dev/null
getconf PAGESIZE
ip -j -d addr show
tc -j qdisc show
ip -j -4 route show table all
ip -j -6 route show table all
ip -j -4 rule show
ip -j -6 rule show
ip -j mptcp endpoint show
ip -j mptcp limits show
nft -j list ruleset 2>/dev/null
for d in /sys/class/net/*; do
  dev=${d##*/}
  cat "$d"/ifindex "$d"/mtu "$d"/operstate "$d"/address "$d"/tx_queue_len "$d"/carrier "$d"/speed "$d"/duplex "$d"/statistics/* "$d"/queues/*/rps_cpus "$d"/queues/*/xps_cpus 2>/dev/null
  ethtool --json -k "$dev" 2>/dev/null
  ethtool -l "$dev" 2>/dev/null
  if [ -e "$d/device" ]; then
    readlink "$d/device/driver"
    ethtool -i "$dev"; ethtool -g "$dev"; ethtool -c "$dev"
    rx=$(ls -d "$d"/queues/rx-* 2>/dev/null | wc -l)
    if [ "$rx" -gt 1 ]; then
      ethtool -x "$dev"
      for ft in tcp4 udp4 tcp6 udp6; do ethtool -n "$dev" rx-flow-hash $ft; done
    fi
  fi 2>/dev/null
done
exit 0
