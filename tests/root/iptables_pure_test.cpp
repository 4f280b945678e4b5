// Pure parts of podid::iptables: parsing, rendering, nft JSON decoding, backend choice. No root needed
// (labelled unit); kept beside the root tests that exercise the same types against the kernel.

#include <catch2/catch.hpp>

#include "nodeproxy/iptables/backend_detection.hpp"
#include "nodeproxy/iptables/nftables_rules.hpp"
#include "nodeproxy/iptables/rule_set.hpp"

using namespace podid::iptables;

namespace {

RuleSpec sample_spec() {
  RuleSpec s;
  s.proxy = {*Ipv4Address::parse("10.255.0.1"), 2579};
  s.bindings = {{*Ipv4Address::parse("10.200.0.11"), "vethpod1"},
                {*Ipv4Address::parse("10.200.0.12"), "vethpod2"}};
  s.passthrough = {{*Cidr::parse("10.9.0.0/16"), ""}};
  s.host = HostPolicy{{1337}};
  return s;
}

const ChainNames kNames = *ChainNames::from_base(kDefaultChain);

}  // namespace

TEST_CASE("IPv4 addresses and prefixes parse strictly and print back", "[unit]") {
  CHECK(Ipv4Address::parse("169.254.169.254")->to_string() == "169.254.169.254");
  CHECK(Cidr::parse("10.0.0.0/8")->to_string() == "10.0.0.0/8");
  CHECK(Cidr::parse("10.0.0.7")->prefix == 32);
  const char* bad = GENERATE("", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d");
  CHECK_FALSE(Ipv4Address::parse(bad).has_value());
  const char* bad_cidr = GENERATE("10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x");
  CHECK_FALSE(Cidr::parse(bad_cidr).has_value());
}

TEST_CASE("A spec with a doubly bound pod IP, no interface or no proxy is refused", "[unit]") {
  RuleSpec s = sample_spec();
  CHECK(s.validate().has_value());
  SECTION("duplicate pod IP") {
    s.bindings.push_back({s.bindings[0].pod_ip, "vethpod9"});
    CHECK_FALSE(s.validate().has_value());
  }
  SECTION("missing interface") {
    s.bindings[0].host_interface.clear();
    CHECK_FALSE(s.validate().has_value());
  }
  SECTION("interface wildcard or too long") {
    s.bindings[0].host_interface = GENERATE(std::string("veth+"), std::string("averyveryverylongname"));
    CHECK_FALSE(s.validate().has_value());
  }
  SECTION("no proxy port") {
    s.proxy.port = 0;
    CHECK_FALSE(s.validate().has_value());
  }
  CHECK_FALSE(ChainNames::from_base("this-name-is-far-too-long").has_value());
  CHECK_FALSE(ChainNames::from_base("bad name").has_value());
}

TEST_CASE("Rendered rules bind each pod IP to its interface and end in a reject", "[unit]") {
  CHECK(
      to_text(render(sample_spec(), kNames)) ==
      "*nat aad-metadata\n"
      "-I PREROUTING 1 -j aad-metadata\n"
      "-A aad-metadata -s 10.9.0.0/16 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j RETURN\n"
      "-A aad-metadata -s 10.200.0.11/32 -d 169.254.169.254/32 -i vethpod1 -p tcp -m tcp --dport 80 -j DNAT "
      "--to-destination 10.255.0.1:2579\n"
      "-A aad-metadata -s 10.200.0.12/32 -d 169.254.169.254/32 -i vethpod2 -p tcp -m tcp --dport 80 -j DNAT "
      "--to-destination 10.255.0.1:2579\n"
      "*filter aad-metadata-guard\n"
      "-I INPUT 1 -j aad-metadata-guard\n"
      "-I FORWARD 1 -j aad-metadata-guard\n"
      "-A aad-metadata-guard -d 169.254.169.254/32 -i lo -p tcp -m tcp --dport 80 -j RETURN\n"
      "-A aad-metadata-guard -s 10.9.0.0/16 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j RETURN\n"
      "-A aad-metadata-guard -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with "
      "tcp-reset\n"
      "*filter aad-metadata-host\n"
      "-I OUTPUT 1 -j aad-metadata-host\n"
      "-A aad-metadata-host -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -m owner --uid-owner 1337 -j "
      "RETURN\n"
      "-A aad-metadata-host -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with "
      "tcp-reset\n");
}

TEST_CASE("Without a guard or host policy only the nat chain is rendered", "[unit]") {
  RuleSpec s = sample_spec();
  s.reject_unbound = false;
  s.host.reset();
  const auto rules = render(s, kNames);
  REQUIRE(rules.chains.size() == 1);
  CHECK(rules.chains[0].table == Table::nat);
}

TEST_CASE("nft JSON of the rules we wrote decodes back to the rendered rules", "[unit]") {
  // Captured from `nft -j list table ip podid` (nft 1.0.6) after applying nft_script for a smaller spec.
  const std::string json = R"({"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
    {"table": {"family": "ip", "name": "podid", "handle": 2}},
    {"chain": {"family": "ip", "table": "podid", "name": "aad-metadata", "handle": 1}},
    {"chain": {"family": "ip", "table": "podid", "name": "prerouting", "handle": 3, "type": "nat",
               "hook": "prerouting", "prio": -100, "policy": "accept"}},
    {"rule": {"family": "ip", "table": "podid", "chain": "aad-metadata", "handle": 5, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.200.0.11"}},
      {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "vethpod1"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "169.254.169.254"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}},
      {"counter": {"packets": 3, "bytes": 180}}, {"dnat": {"addr": "10.255.0.1", "port": 2579}}]}},
    {"rule": {"family": "ip", "table": "podid", "chain": "prerouting", "handle": 9, "expr": [
      {"jump": {"target": "aad-metadata"}}]}}]})";
  RuleSpec s = sample_spec();
  s.bindings.pop_back();
  s.passthrough.clear();
  s.reject_unbound = false;
  s.host.reset();
  auto decoded = decode_nft_json(json, kNames);
  REQUIRE(decoded.has_value());
  CHECK(decoded->rules == render(s, kNames));
  CHECK(decoded->packets_of("aad-metadata", render(s, kNames).chains[0].rules[0]) == 3u);
  CHECK(nft_script(render(s, kNames), "podid")
            .find("ip saddr 10.200.0.11 iifname \"vethpod1\" ip daddr 169.254.169.254 tcp dport 80 counter "
                  "dnat to "
                  "10.255.0.1:2579") != std::string::npos);
  CHECK_FALSE(decode_nft_json("not json", kNames).has_value());
}

TEST_CASE("The backend is chosen like Kubernetes' iptables-wrappers", "[unit]") {
  const std::string three = "*nat\n-A A -j B\n-A B -j C\n-A C -j D\nCOMMIT\n";
  const std::string one = "*filter\n-A INPUT -j X\nCOMMIT\n";
  const std::string hint = "*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n";
  CHECK(choose_backend({three, one, false}) == Backend::legacy);
  CHECK(choose_backend({one, three, false}) == Backend::nft);
  CHECK(choose_backend({three, hint, false}) == Backend::nft);  // kubelet's hint beats counting
  CHECK(choose_backend({hint, three, false}) == Backend::legacy);
  CHECK(choose_backend({"", "# Warning: iptables-legacy tables present\n", false}) == Backend::legacy);
  CHECK(choose_backend({"", "", true}) == Backend::nft);  // sticks to our existing nft table
}

TEST_CASE("A bridged pod's DNAT rule names its bridge port; nft enforces it with a bridge table", "[unit]") {
  RuleSpec s;
  s.proxy = {*Ipv4Address::parse("10.201.0.1"), 2579};
  s.bindings = {{*Ipv4Address::parse("10.201.0.11"), "podbr0", "vethpod1"},
                {*Ipv4Address::parse("10.200.0.12"), "vethpod2"}};
  s.reject_unbound = false;
  REQUIRE(s.validate());
  const auto rules = render(s, kNames);
  CHECK(
      to_text(rules) ==
      "*nat aad-metadata\n"
      "-I PREROUTING 1 -j aad-metadata\n"
      "-A aad-metadata -s 10.201.0.11/32 -d 169.254.169.254/32 -i podbr0 -p tcp -m tcp --dport 80 -m physdev "
      "--physdev-in vethpod1 -j DNAT --to-destination 10.201.0.1:2579\n"
      "-A aad-metadata -s 10.200.0.12/32 -d 169.254.169.254/32 -i vethpod2 -p tcp -m tcp --dport 80 -j DNAT "
      "--to-destination 10.201.0.1:2579\n");
  CHECK(
      nft_bridge_script(rules, "podid", false) ==
      "add table bridge podid\ndelete table bridge podid\n"
      "table bridge podid {\n  chain prerouting {\n"
      "    type filter hook prerouting priority -300; policy accept;\n"
      "    iifname != \"vethpod1\" ip saddr 10.201.0.11 ip daddr 169.254.169.254 tcp dport 80 counter drop\n"
      "    iifname != \"vethpod1\" arp saddr ip 10.201.0.11 counter drop\n"
      "  }\n}\n");
  RuleSpec routed = s;
  routed.bindings.erase(routed.bindings.begin());
  CHECK(nft_bridge_script(render(routed, kNames), "podid", false).empty());
  CHECK(nft_bridge_script(render(routed, kNames), "podid", true) ==
        "add table bridge podid\ndelete table bridge podid\n");

  // A port equal to the interface, or a wildcard port, is refused.
  RuleSpec bad = s;
  bad.bindings[0].bridge_port = "podbr0";
  CHECK_FALSE(bad.validate());
  bad.bindings[0].bridge_port = "veth+";
  CHECK_FALSE(bad.validate());
}

TEST_CASE("nft's bridge table folds back into the DNAT rule's bridge port; anything else reads as unknown",
          "[unit]") {
  RuleSpec s;
  s.proxy = {*Ipv4Address::parse("10.201.0.1"), 2579};
  s.bindings = {{*Ipv4Address::parse("10.201.0.11"), "podbr0", "vethpod1"}};
  s.reject_unbound = false;
  const auto desired = render(s, kNames);
  InstalledRules read;  // what the ip table reads back as: the DNAT rule without its port
  read.rules = desired;
  read.rules.chains[0].rules[0].physdev_in.clear();
  read.packets = {{0}};
  // Captured from `nft -j list table bridge podid` (nft 1.0.6) after applying nft_bridge_script.
  const std::string head = R"({"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
    {"table": {"family": "bridge", "name": "podid", "handle": 2}},
    {"chain": {"family": "bridge", "table": "podid", "name": "prerouting", "handle": 1, "type": "filter",
               "hook": "prerouting", "prio": -300, "policy": "accept"}},
    {"rule": {"family": "bridge", "table": "podid", "chain": "prerouting", "handle": 2, "expr": [
      {"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "vethpod1"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.201.0.11"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "169.254.169.254"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}},
      {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}})";
  const std::string arp = R"(,
    {"rule": {"family": "bridge", "table": "podid", "chain": "prerouting", "handle": 3, "expr": [
      {"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "vethpod1"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "arp", "field": "saddr ip"}}, "right": "10.201.0.11"}},
      {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}})";
  SECTION("both rules: the port is read back") {
    InstalledRules r = read;
    REQUIRE(merge_nft_bridge_json(head + arp + "]}", r, kNames));
    CHECK(r.rules == desired);
  }
  SECTION("the ARP rule deleted: no port, so ensure() rewrites") {
    InstalledRules r = read;
    REQUIRE(merge_nft_bridge_json(head + "]}", r, kNames));
    CHECK_FALSE(r.rules == desired);
  }
  SECTION("a pair for a pod with no DNAT rule reads as an unknown rule") {
    InstalledRules r;
    REQUIRE(merge_nft_bridge_json(head + arp + "]}", r, kNames));
    REQUIRE(r.rules.chains.size() == 1);
    CHECK(r.rules.chains[0].rules.back().action == RuleAction::unknown);
  }
  CHECK_FALSE(merge_nft_bridge_json("{", read, kNames).has_value());
}
