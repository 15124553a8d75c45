//! The states of a report draft and of its deliveries.

use crate::string_enum;

string_enum! {
    /// A draft's state: edited freely while `draft`; `approved` by a manager
    /// (an edit after approval withdraws it); `sent` once delivered.
    DraftStatus {
        Draft => "draft",
        Approved => "approved",
        Sent => "sent",
    }
}

string_enum! {
    /// Where a report is delivered.
    Channel {
        Email => "email",
        Slack => "slack",
        Webhook => "webhook",
    }
}

string_enum! {
    /// A delivery to one recipient: `sending` while claimed, then `sent` or
    /// `failed` (a failed one may be claimed again).
    DeliveryStatus {
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
}
