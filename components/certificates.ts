/** certbot's lineage name: certificates live in /etc/letsencrypt/live/site/. */
export const CERT_NAME = "site";
export const LETSENCRYPT_DIR = "/etc/letsencrypt";
export const ACME_WEBROOT = "/var/www/certbot";
/** Where nginx reads its certificate: a placeholder until Let's Encrypt has issued one. */
export const NGINX_TLS_DIR = "/etc/nginx/tls";

/**
 * The certbot container's loop: obtain the certificate over HTTP-01 (webroot), then check
 * twice a day; `--keep-until-expiring` renews only when renewal is due.
 */
export function renderCertbotLoop(o: { domains: string[]; email: string; staging: boolean }): string {
    const domains = o.domains.map((d) => `-d '${d}'`).join(" ");
    return `set -u
trap 'exit 0' TERM INT
while :; do
    if certbot certonly --webroot -w ${ACME_WEBROOT} --cert-name ${CERT_NAME} ${domains} \\
        --email '${o.email}' --agree-tos --no-eff-email --non-interactive --keep-until-expiring${o.staging ? " --staging" : ""}; then
        pause=12h
    else
        echo "certbot: could not obtain or renew the certificate; trying again in an hour" >&2
        pause=1h
    fi
    sleep "$pause" & wait $!
done
`;
}

/**
 * Run by the nginx image's entrypoint (/docker-entrypoint.d/) before nginx starts: installs the
 * Let's Encrypt certificate when there is one, then keeps watching and reloads nginx after
 * each renewal.
 */
export function renderCertificateWatcher(o: { intervalSeconds: number } = { intervalSeconds: 60 }): string {
    const live = `${LETSENCRYPT_DIR}/live/${CERT_NAME}`;
    return `#!/bin/sh
set -eu
live='${live}'
tls='${NGINX_TLS_DIR}'

install_certificate() {
    [ -s "$live/fullchain.pem" ] && [ -s "$live/privkey.pem" ] || return 1
    cmp -s "$live/fullchain.pem" "$tls/fullchain.pem" && return 1
    cp "$live/privkey.pem" "$tls/privkey.pem.new"
    cp "$live/fullchain.pem" "$tls/fullchain.pem.new"
    mv "$tls/privkey.pem.new" "$tls/privkey.pem"
    mv "$tls/fullchain.pem.new" "$tls/fullchain.pem"
    echo "webstack: installed the Let's Encrypt certificate"
}

install_certificate || true
(
    while sleep ${o.intervalSeconds}; do
        if install_certificate; then nginx -s reload; fi
    done
) &
`;
}

/**
 * Healthy while the certificate has more than 14 days left. An unhealthy certbot is restarted by
 * autoheal, which retries issuance at once. The certbot image has python3 and cryptography.
 */
export const CERTIFICATE_HEALTH_PROBE = [
    "import datetime, sys",
    "from cryptography import x509",
    `cert = x509.load_pem_x509_certificate(open("${LETSENCRYPT_DIR}/live/${CERT_NAME}/fullchain.pem", "rb").read())`,
    "expires = getattr(cert, 'not_valid_after_utc', None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)",
    "sys.exit(0 if expires - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(days=14) else 1)",
].join("\n");
