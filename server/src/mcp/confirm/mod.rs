//! Asking the user to confirm a destructive tool call (trash_page, delete_block, update_page_markdown
//! replacing a whole page), where the client can be asked — never required of clients that cannot.
//!
//! Only a client that declared form elicitation is asked, through the channel its protocol has:
//! - 2026-07-28 (capabilities in each request's `_meta`): the first call is answered with an
//!   `input_required` result holding one `elicitation/create` form (a boolean `confirm`) and a sealed
//!   `requestState` ([`state`]); the client re-sends the call with the answer and the state.
//! - 2025-11-25 and older in a session (capabilities from `initialize`): an `elicitation/create`
//!   request is sent during the call, answered within a bounded time.
//!
//! Anything else (no elicitation, stateless older requests, `--no-confirm-destructive`) runs at once.

mod action;
mod state;

use crate::auth::Principal;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::ToolDef;
use crate::store::KeyRing;
pub use action::Action;
use rmcp::model::{
    CallToolRequestParams, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationSchema, InputRequest, InputRequests, InputRequiredResult, InputResponses,
    ProtocolVersion,
};
use rmcp::service::{RequestContext, ServiceError};
use rmcp::{Peer, RoleServer};
use serde_json::json;
pub use state::StateSealer;
use state::{Binding, StateProblem};
use std::time::Duration;

/// The key of the one input request, and of the form's boolean.
const CONFIRM: &str = "confirm";

/// How long confirmations may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmTiming {
    /// How long an `input_required` state stays valid (2026-07-28).
    pub state_ttl: Duration,
    /// How long the server waits for a session client's answer (2025-11-25 sessions).
    pub answer_wait: Duration,
}

impl Default for ConfirmTiming {
    fn default() -> Self {
        ConfirmTiming {
            state_ttl: Duration::from_secs(300),
            answer_wait: Duration::from_secs(120),
        }
    }
}

/// Why a confirmation did not let a call run; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(
        "the confirmation of this call has expired (it is valid for {seconds} s); nothing was changed. Call the tool again without requestState to be asked again"
    )]
    Expired { seconds: u64 },
    #[error(
        "requestState is not a confirmation this server issued, or was altered; nothing was changed. Call the tool again without requestState to be asked"
    )]
    Altered,
    #[error(
        "requestState confirms a different call (another tool or other arguments), not this one; nothing was changed. Call the tool again without requestState to be asked about this call"
    )]
    OtherCall,
    #[error(
        "requestState confirms a call of another caller; nothing was changed. Call the tool again without requestState to be asked"
    )]
    OtherCaller,
    #[error(
        "inputResponses has no answer under \"confirm\" (an elicitation result such as {{\"action\": \"accept\", \"content\": {{\"confirm\": true}}}}); nothing was changed"
    )]
    NoAnswer,
    #[error(
        "the client did not answer the confirmation request within {seconds} s; nothing was changed"
    )]
    Unanswered { seconds: u64 },
    #[error("asking the user to confirm failed ({0}); nothing was changed")]
    AskFailed(String),
}

impl ConfirmError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConfirmError::Expired { .. } => "confirmation_expired",
            ConfirmError::Altered => "confirmation_invalid",
            ConfirmError::OtherCall | ConfirmError::OtherCaller => "confirmation_mismatch",
            ConfirmError::NoAnswer => "confirmation_missing",
            ConfirmError::Unanswered { .. } => "confirmation_unanswered",
            ConfirmError::AskFailed(_) => "confirmation_failed",
        }
    }
}

/// What to do with a tool call.
pub enum Gate {
    /// Run the tool.
    Run,
    /// Answer with this first: the user is asked (2026-07-28).
    Ask(Box<InputRequiredResult>),
    /// Not run: the user said no. The text says what was not done.
    Declined(String),
    /// Not run: the confirmation failed.
    Refused(ToolError),
}

/// How this request's client can be asked.
enum Channel {
    /// An `input_required` result (2026-07-28).
    InputRequired,
    /// A server request through the session.
    Session(Peer<RoleServer>),
}

/// The confirmation policy and its keys, shared by every handler.
pub struct Confirmer {
    enabled: bool,
    sealer: StateSealer,
    answer_wait: Duration,
}

impl Default for Confirmer {
    /// Asks, with a per-process key.
    fn default() -> Self {
        Confirmer::new(true, None, ConfirmTiming::default())
    }
}

impl Confirmer {
    /// `keys`: the grant store's sealing keys, when the replicas share some.
    pub fn new(enabled: bool, keys: Option<&KeyRing>, timing: ConfirmTiming) -> Self {
        let sealer = keys
            .and_then(|k| match StateSealer::from_ring(k, timing.state_ttl) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "confirmation states cannot use the store keys; using a key of this process");
                    None
                }
            })
            .unwrap_or_else(|| StateSealer::random(timing.state_ttl));
        Confirmer {
            enabled,
            sealer,
            answer_wait: timing.answer_wait,
        }
    }

    /// Whether destructive calls are confirmed where the client can be asked.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether other replicas accept this process's confirmation states.
    pub fn shared_key(&self) -> bool {
        self.sealer.shared()
    }

    /// Decide whether `request` (a call of `def`) runs now, asks first, or does not run. A call
    /// whose arguments the tool refuses is not asked about: it fails without changing anything.
    pub async fn gate(
        &self,
        def: &ToolDef,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
        ctx: &ToolCtx,
        caller: Option<&Principal>,
    ) -> Gate {
        if !self.enabled {
            return Gate::Run;
        }
        let args = request.arguments.as_ref();
        let asked = || def.asks.and_then(|asks| asks(args)).map(Action::Asked);
        let Some(action) = Action::of(&request.name, args).or_else(asked) else {
            return Gate::Run;
        };
        let Some(channel) = channel(context) else {
            return Gate::Run;
        };
        if def.check_args(request.arguments.clone()).is_err() {
            return Gate::Run;
        }
        match channel {
            Channel::InputRequired => {
                let caller = caller.map(caller_of).unwrap_or_default();
                let binding = Binding::new(&request.name, args, &caller);
                match request.request_state.as_deref() {
                    None => self.ask_for_input(&action, ctx, &binding).await,
                    Some(state) => match self.sealer.open(state, &binding) {
                        Ok(()) => verdict(answer_in(request.input_responses.as_ref()), &action),
                        Err(StateProblem::Foreign) => {
                            self.ask_for_input(&action, ctx, &binding).await
                        }
                        Err(p) => Gate::Refused(self.state_error(p).into()),
                    },
                }
            }
            Channel::Session(peer) => self.ask_in_session(&peer, &action, ctx).await,
        }
    }

    async fn ask_for_input(&self, action: &Action, ctx: &ToolCtx, binding: &Binding) -> Gate {
        let question = action.question(ctx).await;
        let request = InputRequest::Elicitation(ElicitRequest::new(form(question)));
        let requests = InputRequests::from([(CONFIRM.to_string(), request)]);
        Gate::Ask(Box::new(InputRequiredResult::new(
            Some(requests),
            Some(self.sealer.seal(binding)),
        )))
    }

    async fn ask_in_session(
        &self,
        peer: &Peer<RoleServer>,
        action: &Action,
        ctx: &ToolCtx,
    ) -> Gate {
        let question = action.question(ctx).await;
        let asked = peer.create_elicitation_with_timeout(form(question), Some(self.answer_wait));
        let answer = tokio::select! {
            a = asked => a,
            () = ctx.cancel.cancelled() => return Gate::Refused(ToolError::Cancelled),
        };
        match answer {
            Ok(result) => verdict(Ok(result), action),
            Err(ServiceError::Timeout { .. }) => Gate::Refused(
                ConfirmError::Unanswered {
                    seconds: self.answer_wait.as_secs(),
                }
                .into(),
            ),
            Err(ServiceError::Cancelled { .. }) => Gate::Refused(ToolError::Cancelled),
            Err(e) => Gate::Refused(ConfirmError::AskFailed(e.to_string()).into()),
        }
    }

    fn state_error(&self, problem: StateProblem) -> ConfirmError {
        match problem {
            StateProblem::Expired => ConfirmError::Expired {
                seconds: self.sealer.ttl().as_secs(),
            },
            StateProblem::OtherCall => ConfirmError::OtherCall,
            StateProblem::OtherCaller => ConfirmError::OtherCaller,
            StateProblem::Foreign | StateProblem::Altered => ConfirmError::Altered,
        }
    }
}

/// Who calls, as confirmations are bound to it: the kind of credentials, the subject (a token
/// fingerprint, grant or API key id) and the OAuth client.
fn caller_of(p: &Principal) -> String {
    format!(
        "{}:{}:{}",
        p.kind.as_str(),
        p.subject,
        p.client_id.as_deref().unwrap_or_default()
    )
}

/// How this request's client can be asked, if it can: it declared form elicitation, and either
/// speaks 2026-07-28 (input_required results) or holds a session (server requests).
fn channel(context: &RequestContext<RoleServer>) -> Option<Channel> {
    let version = context.protocol_version()?;
    if version.as_str() >= ProtocolVersion::V_2026_07_28.as_str() {
        let caps = context.meta.client_capabilities()?;
        return asks_forms(caps.elicitation.as_ref()).then_some(Channel::InputRequired);
    }
    // Stateless older requests get a stand-in handshake without capabilities, so only a real
    // `initialize` of a session can have declared elicitation; the session header is checked too.
    let in_session = context
        .extensions
        .get::<http::request::Parts>()
        .is_some_and(|p| p.headers.contains_key("mcp-session-id"));
    let info = context.peer.peer_info()?;
    (in_session && asks_forms(info.capabilities.elicitation.as_ref()))
        .then(|| Channel::Session(context.peer.clone()))
}

/// Whether declared elicitation includes form mode (an empty declaration means form mode).
fn asks_forms(elicitation: Option<&rmcp::model::ElicitationCapability>) -> bool {
    elicitation.is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// The confirmation form: the question and one required boolean.
fn form(message: String) -> ElicitRequestParams {
    let schema = json!({
        "type": "object",
        "properties": {
            CONFIRM: {
                "type": "boolean",
                "title": "Confirm",
                "description": "Yes, do it",
                "default": false
            }
        },
        "required": [CONFIRM]
    });
    let requested_schema: ElicitationSchema = serde_json::from_value(schema)
        .unwrap_or_else(|_| ElicitationSchema::new(Default::default()));
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema,
    }
}

/// The client's answer to the confirmation, from `inputResponses`.
fn answer_in(responses: Option<&InputResponses>) -> Result<ElicitResult, ConfirmError> {
    let raw = responses
        .and_then(|r| r.get(CONFIRM))
        .ok_or(ConfirmError::NoAnswer)?;
    serde_json::from_value(raw.clone()).map_err(|_| ConfirmError::NoAnswer)
}

/// Run only on an accepted form with `confirm: true`.
fn verdict(answer: Result<ElicitResult, ConfirmError>, action: &Action) -> Gate {
    let answer = match answer {
        Ok(a) => a,
        Err(e) => return Gate::Refused(e.into()),
    };
    let confirmed = answer
        .content
        .as_ref()
        .and_then(|c| c.get(CONFIRM))
        .is_some_and(|v| v.as_bool() == Some(true));
    let how = match answer.action {
        ElicitationAction::Accept if confirmed => return Gate::Run,
        ElicitationAction::Accept => "did not confirm",
        ElicitationAction::Decline => "declined",
        ElicitationAction::Cancel => "dismissed the confirmation",
        _ => "did not confirm",
    };
    Gate::Declined(format!(
        "Nothing was changed: the user {how}, so {}. Do not repeat the call unless the user asks for it.",
        action.not_done()
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn action() -> Action {
        Action::DeleteBlock { id: "b".into() }
    }

    fn answer(v: serde_json::Value) -> Result<ElicitResult, ConfirmError> {
        answer_in(Some(&InputResponses::from([(CONFIRM.to_string(), v)])))
    }

    #[test]
    fn only_an_accepted_true_confirm_runs() {
        let run = |v| matches!(verdict(answer(v), &action()), Gate::Run);
        assert!(run(
            json!({"action": "accept", "content": {"confirm": true}})
        ));
        assert!(!run(
            json!({"action": "accept", "content": {"confirm": false}})
        ));
        assert!(!run(json!({"action": "accept"})));
        assert!(!run(json!({"action": "decline"})));
        assert!(!run(
            json!({"action": "cancel", "content": {"confirm": true}})
        ));
        match verdict(answer(json!({"action": "decline"})), &action()) {
            Gate::Declined(text) => {
                assert!(text.contains("declined") && text.contains("block b was not deleted"))
            }
            _ => panic!("a decline is reported"),
        }
        assert!(matches!(
            verdict(answer_in(None), &action()),
            Gate::Refused(ToolError::Confirmation(ConfirmError::NoAnswer))
        ));
        assert!(matches!(
            verdict(answer(json!("yes")), &action()),
            Gate::Refused(ToolError::Confirmation(ConfirmError::NoAnswer))
        ));
    }

    #[test]
    fn the_form_is_one_required_boolean() {
        let v = serde_json::to_value(form("Delete?".into())).unwrap();
        assert_eq!(v["message"], "Delete?");
        assert_eq!(
            v["requestedSchema"]["properties"]["confirm"]["type"],
            "boolean"
        );
        assert_eq!(v["requestedSchema"]["required"], json!(["confirm"]));
    }
}
