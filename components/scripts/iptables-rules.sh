# shellcheck shell=sh
# Read before a host-side script that keeps iptables rules of its own (machine-network.sh,
# publish-api-server.sh): components/shell.py's on_host(..., library="iptables-rules.sh") puts this
# text ahead of the script's. A script lists its rules one a line, "TABLE CHAIN RULE...", and every
# rule it inserts carries a comment of its own, so that only its rules are found again.

# Delete every copy of each rule on stdin that carries comment $1; the same rule with another comment
# (another cluster's, another script's) or none stays.
remove_rules() {
    while read -r table chain rule; do
        # shellcheck disable=SC2086 # the rule's words are separate arguments
        while iptables -t "$table" -C "$chain" $rule -m comment --comment "$1" 2>/dev/null; do
            # shellcheck disable=SC2086
            iptables -t "$table" -D "$chain" $rule -m comment --comment "$1"
        done
    done
}
