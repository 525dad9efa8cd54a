import * as pulumi from "@pulumi/pulumi";

/** Where alerts go: the alertWebhookUrl secret, in the alertFormat's JSON. */
export interface AlertTarget {
    webhookUrl: pulumi.Output<string>;
    format: "slack" | "ntfy";
}

/** notify.py's environment (images/backup/notify.py). Holds the webhook URL: always pass it on as a secret. */
export function alertEnvironment(o: { webhookUrl: string; format: string; source: string }): string[] {
    return [`ALERT_WEBHOOK_URL=${o.webhookUrl}`, `ALERT_FORMAT=${o.format}`, `ALERT_SOURCE=${o.source}`];
}
