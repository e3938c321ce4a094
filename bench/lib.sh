# Shared by the benchmark scripts and link/order-hot-code.sh (sourced, after $bin is set): a temp
# dir removed on exit with every process listed in $pids, the ARNs, a throwaway openssl PKI and
# the local endpoint.

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

ta=arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/bench
profile=arn:aws:rolesanywhere:us-east-1:123456789012:profile/bench
role_name=bench
role=arn:aws:iam::123456789012:role/$role_name

# make_ca: an EC P-256 CA in $work/ca.pem and $work/ca.key, and the leaf extensions in
# $work/ext.cnf.
make_ca() {
    cat > "$work/ext.cnf" <<'CNF'
[v3_leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
CNF
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$work/ca.key" -out "$work/ca.pem" -days 2 -subj "/CN=bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
}

# make_leaf NAME ALGORITHM PKEYOPT [CA_DIR]: a key and its certificate, $work/NAME.key and
# $work/NAME.pem, issued by the CA in CA_DIR (ca.pem, ca.key, ext.cnf; default $work).
make_leaf() {
    local ca_dir=${4:-$work}
    openssl genpkey -algorithm "$2" -pkeyopt "$3" -out "$work/$1.key" 2>/dev/null
    openssl req -new -key "$work/$1.key" -subj "/CN=bench-$1" -out "$work/$1.csr"
    openssl x509 -req -in "$work/$1.csr" -CA "$ca_dir/ca.pem" -CAkey "$ca_dir/ca.key" -days 1 \
        -extfile "$ca_dir/ext.cnf" -extensions v3_leaf -out "$work/$1.pem" 2>/dev/null
}

# start_endpoint CA_BUNDLE [FLAG...]: the local endpoint trusting CA_BUNDLE, in the background;
# sets $url and exports AWS_CA_BUNDLE (its TLS CA).
start_endpoint() {
    "$bin" local-endpoint --ca-bundle "$1" --trust-anchor-arn $ta --profile-arn $profile \
        --role-arn $role --ready-file "$work/ready" --write-tls-ca "$work/tls-ca.pem" "${@:2}" 2>/dev/null &
    pids+=($!)
    for _ in $(seq 200); do [ -s "$work/ready" ] && break; sleep 0.05; done
    [ -s "$work/ready" ] || { echo "the local endpoint did not start" >&2; exit 1; }
    url=$(cat "$work/ready")
    export AWS_CA_BUNDLE=$work/tls-ca.pem
}
