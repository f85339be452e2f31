//! What a customer hears and who hears about it (`notifications` on the customer): the
//! language its contacts get mail in, whether they are told each status change of their
//! tickets, and the account manager its contracts' quota mails go to.

use crate::error::ApiError;
use crate::state::AppState;
use domain::notification::Language;
use persistence::CustomerData;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The customer's mail settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// The language its contacts get mail in (default `de`).
    #[serde(default)]
    pub language: Language,
    /// Mail the ticket's contact on every status change of a ticket of this customer, with
    /// the customer-visible notes written since the last one ("keep the client informed").
    /// Default false.
    #[serde(default)]
    pub keep_client_informed: bool,
    /// The user who looks after the customer: gets the quota threshold mails of its
    /// contracts (without one, the billing office does).
    #[serde(default)]
    pub account_manager_id: Option<i64>,
}

impl Notifications {
    /// The customer's settings as stored.
    pub fn of(d: &CustomerData) -> Notifications {
        Notifications {
            language: d.language,
            keep_client_informed: d.keep_client_informed,
            account_manager_id: d.account_manager_id,
        }
    }

    /// 422 unless the account manager is an existing user.
    pub async fn check(&self, state: &AppState) -> Result<(), ApiError> {
        if let Some(id) = self.account_manager_id {
            if state.store.get_user(id).await.is_err() {
                return Err(ApiError::invalid(
                    "notifications.account_manager_id",
                    "unknown_user",
                    format!("no user has the id {id}"),
                ));
            }
        }
        Ok(())
    }

    /// Writes the settings into a customer record.
    pub fn apply(self, d: &mut CustomerData) {
        d.language = self.language;
        d.keep_client_informed = self.keep_client_informed;
        d.account_manager_id = self.account_manager_id;
    }
}
