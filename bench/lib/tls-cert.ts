/**
 * A fixed self-signed certificate for the node:tls baseline of bench/streams.ts: ECDSA P-256,
 * CN=localhost, subjectAltName IP:127.0.0.1 and DNS:localhost, valid 2000-01-01 to 2100-01-01 so
 * that no clock skew makes it invalid. Made once with OpenSSL 3.0 (`openssl ecparam -name
 * prime256v1 -genkey`, then `openssl ca -selfsign -startdate 20000101000000Z -enddate
 * 21000101000000Z`) and embedded, so the bench needs no openssl at run time. It protects nothing:
 * the key is public. The client trusts exactly this certificate (`ca`), so the handshake verifies
 * it as a real one would.
 */
export const BENCH_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTiBVvVF3YHZ7qM04
ZB53dStBBLO4ueSO3HJcq/9vA9+hRANCAARg6VFEyJ5bFLxAe3dU25aA/NQ7UbAJ
dbe2zNPoqxezHmCCDyV8QEUpBuFTfM2MZoN1Sb0NyDiFBV9WhYzNMf5U
-----END PRIVATE KEY-----
`;

export const BENCH_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBZjCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGDpUUTInlsUvEB7
d1TbloD81DtRsAl1t7bM0+irF7MeYIIPJXxARSkG4VN8zYxmg3VJvQ3IOIUFX1aF
jM0x/lSjTjBMMA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYcEfwAAAYIJbG9j
YWxob3N0MB0GA1UdDgQWBBQOsbU6eJqyBdUeCtSkMeu4SfzDsjAKBggqhkjOPQQD
AgNHADBEAiAhyckHeW1RER212UtUubDOG5YYXvUme84cJfKSa3y2ngIgMwAlcAVm
9rw92nYRmtj4iV8qgSCTNOpNS47yxJsseus=
-----END CERTIFICATE-----
`;
