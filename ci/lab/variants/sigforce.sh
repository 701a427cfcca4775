# shellcheck shell=bash
# Hook of the lab kernel variant "sigforce" (see sigforce.config), sourced by lab.sh before
# the variant is configured. variant_prepare DIR generates two test keys in DIR/keys/
# (mode 0700, key files 0600) and prints the config line that builds the first one's
# certificate into the kernel's trusted keyring:
#   trusted.key   trusted.crt     RSA-2048 key and self-signed certificate, trusted by
#                                 the kernel (CONFIG_SYSTEM_TRUSTED_KEYS)
#   untrusted.key untrusted.crt   the same kind of key, unknown to the kernel: a module
#                                 signed with it must be refused
# Generated, never checked in: a test key is only as secret as the cache directory, and a
# fresh kernel build gets fresh keys.
# SPDX-License-Identifier: GPL-2.0-only

# The kernel's own certs/default_x509.genkey, minus the file-based key: what the kernel's
# X.509 parser expects of a module signing certificate (a subject key identifier, which is
# how the kernel names the key: "kpatch-gen lab test key (trusted): 3f1a...").
sigforce_x509_config() { # sigforce_x509_config CN
	cat <<CONF
[ req ]
default_bits = 2048
distinguished_name = req_distinguished_name
prompt = no
string_mask = utf8only
x509_extensions = myexts

[ req_distinguished_name ]
O = kpatch-gen lab
CN = $1

[ myexts ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
CONF
}

sigforce_genkey() { # sigforce_genkey DIR NAME CN
	local dir=$1 name=$2 cn=$3
	sigforce_x509_config "$cn" >"$dir/$name.genkey"
	(umask 077 && openssl req -new -nodes -utf8 -sha256 -days 36500 -batch -x509 \
		-config "$dir/$name.genkey" -newkey rsa:2048 \
		-keyout "$dir/$name.key" -out "$dir/$name.crt" >/dev/null 2>&1) ||
		{ echo "sigforce: openssl req failed for $name" >&2; return 1; }
	chmod 600 "$dir/$name.key"
	rm -f "$dir/$name.genkey"
}

variant_prepare() { # variant_prepare DIR: prints extra config lines
	local keys="$1/keys"
	command -v openssl >/dev/null || { echo "sigforce: openssl not found (ci/install-deps.sh)" >&2; return 1; }
	rm -rf "$keys"
	mkdir -p "$keys"
	chmod 700 "$keys"
	sigforce_genkey "$keys" trusted "kpatch-gen lab test key (trusted)" || return 1
	sigforce_genkey "$keys" untrusted "kpatch-gen lab test key (not trusted)" || return 1
	echo "CONFIG_SYSTEM_TRUSTED_KEYS=\"$keys/trusted.crt\""
}
