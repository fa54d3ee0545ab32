//! The wire side of the group client: one TCP connection to a broker with Kafka's framing
//! (int32 size prefix, request header with correlation and client id), the API versions agreed
//! with that broker through ApiVersions, and the five group requests built for those versions and
//! their responses boiled down to what [`super::membership`] needs.

use super::group_client::GroupError;
use super::membership::{codes, Coordinator, JoinResponse, SyncResponse};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{encode_request_header_into_buffer, Decodable, Encodable, HeaderVersion, StrBytes};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tributary_kafka_security::sasl::{plain_message, ScramClient};
use tributary_kafka_security::{ClientSecurity, Sasl};

/// The protocol type of Connect's worker group.
pub const PROTOCOL_TYPE: &str = "connect";

/// No group response comes near this; a bigger size prefix means a garbled stream.
const MAX_FRAME: i32 = 64 * 1024 * 1024;

/// The versions this client can speak per API, oldest first. The floors are where the fields
/// used here exist (JoinGroup v5: MEMBER_ID_REQUIRED and group_instance_id, LeaveGroup v3: the
/// members batch), i.e. Kafka 2.4; the ceilings are the newest whose semantics were checked.
const SUPPORTED: [(ApiKey, &str, i16, i16); 5] = [
    (ApiKey::FindCoordinator, "FindCoordinator", 1, 4),
    (ApiKey::JoinGroup, "JoinGroup", 5, 9),
    (ApiKey::SyncGroup, "SyncGroup", 3, 5),
    (ApiKey::Heartbeat, "Heartbeat", 3, 4),
    (ApiKey::LeaveGroup, "LeaveGroup", 3, 5),
];

/// A request this client sends. (kafka-protocol's own `Request` trait needs its `broker`
/// feature too, since it asks requests to decode and responses to encode.)
pub trait GroupApi: Encodable + HeaderVersion {
    const KEY: ApiKey;
    const NAME: &'static str;
    type Response: Decodable + HeaderVersion;
}

macro_rules! group_api {
    ($($request:ty => $response:ty, $key:ident;)*) => {$(
        impl GroupApi for $request {
            const KEY: ApiKey = ApiKey::$key;
            const NAME: &'static str = stringify!($key);
            type Response = $response;
        }
    )*};
}

group_api! {
    ApiVersionsRequest => ApiVersionsResponse, ApiVersions;
    FindCoordinatorRequest => FindCoordinatorResponse, FindCoordinator;
    JoinGroupRequest => JoinGroupResponse, JoinGroup;
    SyncGroupRequest => SyncGroupResponse, SyncGroup;
    HeartbeatRequest => HeartbeatResponse, Heartbeat;
    LeaveGroupRequest => LeaveGroupResponse, LeaveGroup;
    SaslHandshakeRequest => SaslHandshakeResponse, SaslHandshake;
    SaslAuthenticateRequest => SaslAuthenticateResponse, SaslAuthenticate;
}

/// How the group connection is secured: the worker's top-level `security.protocol`, `sasl.*`
/// and `ssl.*` keys, as Kafka's `WorkerGroupMember` takes them.
#[derive(Clone)]
pub struct GroupSecurity {
    pub security: ClientSecurity,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for GroupSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSecurity").field("security", &self.security).finish_non_exhaustive()
    }
}

impl GroupSecurity {
    pub fn new(security: ClientSecurity) -> Result<Self, String> {
        let tls = match &security.tls {
            Some(tls) => Some(tributary_kafka_security::tls::client_config(tls).map_err(|e| e.to_string())?),
            None => None,
        };
        if security.protocol.uses_sasl() && security.sasl.is_none() {
            return Err("the group membership connection needs sasl.jaas.config (or sasl.username and sasl.password) for its SASL mechanism".into());
        }
        Ok(Self { security, tls })
    }

    pub fn plaintext() -> Self {
        Self { security: ClientSecurity::plaintext(), tls: None }
    }
}

/// A TCP or TLS stream.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The host of `host:port` (brackets of an IPv6 literal removed).
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// The client's first OAUTHBEARER message (RFC 7628): the token and the SASL extensions.
fn oauthbearer_message(token: &str, extensions: &[(String, String)]) -> Vec<u8> {
    let mut message = format!("n,,\x01auth=Bearer {token}\x01");
    for (k, v) in extensions {
        message.push_str(&format!("{k}={v}\x01"));
    }
    message.push('\x01');
    message.into_bytes()
}

/// Kafka's unsecured OAUTHBEARER token (`alg: none`) for `principal`, in the client's first
/// message (RFC 7628).
fn unsecured_oauthbearer(principal: &str) -> Vec<u8> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let header = B64URL.encode(br#"{"alg":"none"}"#);
    let payload = B64URL.encode(serde_json::json!({"sub": principal, "iat": now, "exp": now + 3600}).to_string());
    oauthbearer_message(&format!("{header}.{payload}."), &[])
}

/// The version used per API on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub find_coordinator: i16,
    pub join_group: i16,
    pub sync_group: i16,
    pub heartbeat: i16,
    pub leave_group: i16,
}

/// The newest version both sides speak, per API, from the broker's `(api key, min, max)` list.
pub fn negotiate(broker: &[(i16, i16, i16)], addr: &str) -> Result<Versions, GroupError> {
    let mut chosen = [0i16; 5];
    for (slot, (key, api, ours_min, ours_max)) in chosen.iter_mut().zip(SUPPORTED) {
        let (theirs_min, theirs_max) = broker.iter().find(|(k, _, _)| *k == key as i16).map(|&(_, min, max)| (min, max)).unwrap_or((-1, -1));
        let version = ours_max.min(theirs_max);
        if version < ours_min || version < theirs_min {
            return Err(GroupError::UnsupportedVersion { addr: addr.to_string(), api, broker_min: theirs_min, broker_max: theirs_max, ours_min, ours_max });
        }
        *slot = version;
    }
    let [find_coordinator, join_group, sync_group, heartbeat, leave_group] = chosen;
    Ok(Versions { find_coordinator, join_group, sync_group, heartbeat, leave_group })
}

/// A broker connection that has agreed on versions.
pub struct Connection {
    addr: String,
    stream: Box<dyn Stream>,
    client_id: StrBytes,
    correlation_id: i32,
    pub versions: Versions,
}

impl Connection {
    /// Connects (TLS and SASL as `security` asks) and asks the broker which versions it
    /// speaks; all within `timeout`.
    pub async fn open(addr: &str, client_id: &str, timeout: Duration, security: &GroupSecurity) -> Result<Connection, GroupError> {
        tokio::time::timeout(timeout, Self::open_secured(addr, client_id, timeout, security))
            .await
            .map_err(|_| GroupError::Timeout { addr: addr.to_string(), what: "connect" })?
    }

    async fn open_secured(addr: &str, client_id: &str, timeout: Duration, security: &GroupSecurity) -> Result<Connection, GroupError> {
        let tcp = TcpStream::connect(addr).await.map_err(|source| GroupError::Connect { addr: addr.to_string(), source })?;
        // Requests are small and answered one at a time: Nagle would only add latency.
        tcp.set_nodelay(true).map_err(|source| GroupError::Connect { addr: addr.to_string(), source })?;
        let stream: Box<dyn Stream> = match &security.tls {
            None => Box::new(tcp),
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(host_of(addr).to_owned())
                    .map_err(|e| GroupError::Tls { addr: addr.to_string(), message: format!("{} is not a host name: {e}", host_of(addr)) })?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| GroupError::Tls { addr: addr.to_string(), message: e.to_string() })?;
                Box::new(tls)
            }
        };
        let mut conn = Self::handshake(addr, client_id, stream, timeout).await?;
        if let Some(sasl) = &security.security.sasl {
            conn.authenticate(sasl, security.security.tls.as_ref(), timeout).await?;
        }
        Ok(conn)
    }

    async fn handshake(addr: &str, client_id: &str, stream: Box<dyn Stream>, timeout: Duration) -> Result<Connection, GroupError> {
        let placeholder = Versions { find_coordinator: 0, join_group: 0, sync_group: 0, heartbeat: 0, leave_group: 0 };
        let mut conn =
            Connection { addr: addr.to_string(), stream, client_id: StrBytes::from_string(client_id.to_string()), correlation_id: 0, versions: placeholder };
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("tributary"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let response = conn.send(&request, 3, timeout).await?;
        if response.error_code != codes::NONE {
            return Err(GroupError::Broker { addr: addr.to_string(), api: "ApiVersions", error_code: response.error_code });
        }
        let ranges: Vec<(i16, i16, i16)> = response.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
        conn.versions = negotiate(&ranges, addr)?;
        tracing::debug!(addr, versions = ?conn.versions, "group connection open");
        Ok(conn)
    }

    /// SaslHandshake v1, then the mechanism's SaslAuthenticate exchanges (KIP-152).
    async fn authenticate(&mut self, sasl: &Sasl, tls: Option<&tributary_kafka_security::Tls>, timeout: Duration) -> Result<(), GroupError> {
        let mechanism = sasl.mechanism();
        let handshake = self.send(&SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)), 1, timeout).await?;
        if handshake.error_code != codes::NONE {
            let offered: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(self.auth_error(sasl, format!("the broker does not enable SASL mechanism {mechanism}; it offers {offered:?}")));
        }
        match sasl {
            Sasl::Plain { username, password } => {
                self.sasl_step(sasl, plain_message(username, password.expose()), timeout).await?;
            }
            Sasl::Scram { algorithm, username, password } => {
                let mut scram = ScramClient::new(*algorithm, username, password.expose()).map_err(|e| self.auth_error(sasl, e.to_string()))?;
                let server_first = self.sasl_step(sasl, scram.first(), timeout).await?;
                let answer = scram.answer(&server_first).map_err(|e| self.auth_error(sasl, e.to_string()))?;
                let server_final = self.sasl_step(sasl, answer, timeout).await?;
                scram.verify(&server_final).map_err(|e| self.auth_error(sasl, e.to_string()))?;
            }
            Sasl::OAuthBearerUnsecured { principal } => {
                self.sasl_step(sasl, unsecured_oauthbearer(principal), timeout).await?;
            }
            Sasl::OAuthBearerOidc(oidc) => {
                let token = super::oauth_token::fetch(oidc, tls, timeout).await.map_err(|e| self.auth_error(sasl, e))?;
                self.sasl_step(sasl, oauthbearer_message(&token, &oidc.extensions), timeout).await?;
            }
        }
        tracing::debug!(addr = %self.addr, mechanism, "group connection authenticated");
        Ok(())
    }

    async fn sasl_step(&mut self, sasl: &Sasl, bytes: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, GroupError> {
        let response = self.send(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)), 1, timeout).await?;
        if response.error_code != codes::NONE {
            let message =
                response.error_message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| super::membership::error_name(response.error_code).to_string());
            return Err(self.auth_error(sasl, message));
        }
        Ok(response.auth_bytes.to_vec())
    }

    fn auth_error(&self, sasl: &Sasl, message: String) -> GroupError {
        GroupError::Authentication { addr: self.addr.clone(), mechanism: sasl.mechanism(), principal: sasl.principal().to_owned(), message }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// One request and its response, within `timeout`. After an error the connection is in an
    /// unknown state (half a frame may be out) and must be dropped.
    pub async fn send<R: GroupApi>(&mut self, request: &R, version: i16, timeout: Duration) -> Result<R::Response, GroupError> {
        let api = R::NAME;
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let correlation_id = self.correlation_id;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let mut frame = BytesMut::new();
        frame.put_i32(0); // the size, filled in below
        let encoded = encode_request_header_into_buffer(&mut frame, &header).and_then(|()| request.encode(&mut frame, version));
        encoded.map_err(|e| GroupError::Encode { api, message: e.to_string() })?;
        let size = i32::try_from(frame.len() - 4).map_err(|_| GroupError::Encode { api, message: "request too large".into() })?;
        frame[..4].copy_from_slice(&size.to_be_bytes());

        let addr = self.addr.clone();
        let io = |source| GroupError::Io { addr: addr.clone(), source };
        let exchange = async {
            self.stream.write_all(&frame).await.map_err(io)?;
            let size = self.stream.read_i32().await.map_err(io)?;
            if !(0..=MAX_FRAME).contains(&size) {
                return Err(GroupError::FrameSize { addr: addr.clone(), size });
            }
            let mut body = vec![0u8; size as usize];
            self.stream.read_exact(&mut body).await.map_err(io)?;
            Ok(Bytes::from(body))
        };
        let mut body = tokio::time::timeout(timeout, exchange).await.map_err(|_| GroupError::Timeout { addr: self.addr.clone(), what: api })??;

        let response_header = ResponseHeader::decode(&mut body, R::Response::header_version(version)).map_err(decode_error(api))?;
        if response_header.correlation_id != correlation_id {
            return Err(GroupError::Correlation { addr: self.addr.clone(), expected: correlation_id, got: response_header.correlation_id });
        }
        R::Response::decode(&mut body, version).map_err(decode_error(api))
    }
}

fn decode_error<E: std::fmt::Display>(api: &'static str) -> impl FnOnce(E) -> GroupError {
    move |e| GroupError::Decode { api, message: e.to_string() }
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub fn find_coordinator_request(group_id: &str, version: i16) -> FindCoordinatorRequest {
    // key_type 0 = group. v4 (KIP-699) asks about a batch of keys instead of one.
    let request = FindCoordinatorRequest::default().with_key_type(0);
    if version >= 4 {
        request.with_coordinator_keys(vec![str_bytes(group_id)])
    } else {
        request.with_key(str_bytes(group_id))
    }
}

/// The coordinator, or the broker's error code; `Err` for a response that makes no sense.
pub fn coordinator_from(response: FindCoordinatorResponse, version: i16, addr: &str) -> Result<Result<Coordinator, i16>, GroupError> {
    let (error_code, node_id, host, port) = if version >= 4 {
        let Some(c) = response.coordinators.into_iter().next() else {
            return Err(GroupError::Malformed { addr: addr.to_string(), why: "FindCoordinator answered about no key".into() });
        };
        (c.error_code, c.node_id.0, c.host, c.port)
    } else {
        (response.error_code, response.node_id.0, response.host, response.port)
    };
    if error_code != codes::NONE {
        return Ok(Err(error_code));
    }
    let port = u16::try_from(port).map_err(|_| GroupError::Malformed { addr: addr.to_string(), why: format!("coordinator port {port}") })?;
    Ok(Ok(Coordinator { node_id, host: host.to_string(), port }))
}

pub struct JoinParams<'a> {
    pub group_id: &'a str,
    pub member_id: &'a str,
    pub reason: &'a str,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocols: Vec<(String, Vec<u8>)>,
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

pub fn join_group_request(p: JoinParams<'_>, version: i16) -> JoinGroupRequest {
    let protocols = p
        .protocols
        .into_iter()
        .map(|(name, metadata)| JoinGroupRequestProtocol::default().with_name(StrBytes::from_string(name)).with_metadata(Bytes::from(metadata)))
        .collect();
    JoinGroupRequest::default()
        .with_group_id(GroupId(str_bytes(p.group_id)))
        .with_session_timeout_ms(millis(p.session_timeout))
        .with_rebalance_timeout_ms(millis(p.rebalance_timeout))
        .with_member_id(str_bytes(p.member_id))
        .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
        .with_protocols(protocols)
        // v8+ (KIP-800): the coordinator logs why a member (re)joined.
        .with_reason((version >= 8).then(|| str_bytes(p.reason)))
}

pub fn join_response(r: JoinGroupResponse) -> JoinResponse {
    JoinResponse {
        error_code: r.error_code,
        generation: r.generation_id,
        protocol: r.protocol_name.map(|p| p.to_string()),
        leader_id: r.leader.to_string(),
        member_id: r.member_id.to_string(),
        members: r.members.into_iter().map(|m| (m.member_id.to_string(), m.metadata.to_vec())).collect(),
    }
}

pub fn sync_group_request(
    group_id: &str,
    generation: i32,
    member_id: &str,
    protocol: &str,
    assignments: Vec<(String, Vec<u8>)>,
    version: i16,
) -> SyncGroupRequest {
    let assignments = assignments
        .into_iter()
        .map(|(member, bytes)| SyncGroupRequestAssignment::default().with_member_id(StrBytes::from_string(member)).with_assignment(Bytes::from(bytes)))
        .collect();
    // v5 (KIP-559) repeats the protocol so the coordinator can check it.
    let v5 = version >= 5;
    SyncGroupRequest::default()
        .with_group_id(GroupId(str_bytes(group_id)))
        .with_generation_id(generation)
        .with_member_id(str_bytes(member_id))
        .with_protocol_type(v5.then(|| StrBytes::from_static_str(PROTOCOL_TYPE)))
        .with_protocol_name(v5.then(|| str_bytes(protocol)))
        .with_assignments(assignments)
}

pub fn sync_response(r: SyncGroupResponse) -> SyncResponse {
    SyncResponse { error_code: r.error_code, protocol: r.protocol_name.map(|p| p.to_string()), assignment: r.assignment.to_vec() }
}

pub fn heartbeat_request(group_id: &str, generation: i32, member_id: &str) -> HeartbeatRequest {
    HeartbeatRequest::default().with_group_id(GroupId(str_bytes(group_id))).with_generation_id(generation).with_member_id(str_bytes(member_id))
}

pub fn leave_group_request(group_id: &str, member_id: &str, version: i16) -> LeaveGroupRequest {
    let member =
        MemberIdentity::default().with_member_id(str_bytes(member_id)).with_reason((version >= 5).then(|| StrBytes::from_static_str("the worker is stopping")));
    LeaveGroupRequest::default().with_group_id(GroupId(str_bytes(group_id))).with_members(vec![member])
}

/// The group-level error, else this member's.
pub fn leave_error(r: &LeaveGroupResponse) -> i16 {
    if r.error_code != codes::NONE {
        return r.error_code;
    }
    r.members.first().map_or(codes::NONE, |m| m.error_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::find_coordinator_response::Coordinator as WireCoordinator;
    use kafka_protocol::messages::BrokerId;

    fn broker_3_9() -> Vec<(i16, i16, i16)> {
        vec![(10, 0, 6), (11, 0, 9), (14, 0, 5), (12, 0, 4), (13, 0, 5), (18, 0, 4)]
    }

    #[test]
    fn the_newest_common_versions_are_chosen() {
        let v = negotiate(&broker_3_9(), "b:1").expect("supported");
        assert_eq!(v, Versions { find_coordinator: 4, join_group: 9, sync_group: 5, heartbeat: 4, leave_group: 5 });
        // A Kafka 2.4-era broker.
        let old = vec![(10, 0, 3), (11, 0, 6), (14, 0, 4), (12, 0, 4), (13, 0, 4)];
        let v = negotiate(&old, "b:1").expect("supported");
        assert_eq!(v, Versions { find_coordinator: 3, join_group: 6, sync_group: 4, heartbeat: 4, leave_group: 4 });
    }

    #[test]
    fn a_broker_without_a_common_version_is_refused() {
        let mut broker = broker_3_9();
        broker[1] = (11, 0, 4);
        match negotiate(&broker, "b:1") {
            Err(GroupError::UnsupportedVersion { api: "JoinGroup", broker_max: 4, ours_min: 5, .. }) => {}
            other => panic!("{other:?}"),
        }
        broker.remove(1);
        assert!(matches!(negotiate(&broker, "b:1"), Err(GroupError::UnsupportedVersion { api: "JoinGroup", broker_max: -1, .. })));
    }

    /// Every request encodes at every version in range: the builders set no field a version lacks.
    #[test]
    fn requests_encode_at_every_supported_version() {
        for (_, api, min, max) in SUPPORTED {
            for v in min..=max {
                let mut buf = BytesMut::new();
                let result = match api {
                    "FindCoordinator" => find_coordinator_request("g", v).encode(&mut buf, v),
                    "JoinGroup" => join_group_request(
                        JoinParams {
                            group_id: "g",
                            member_id: "m",
                            reason: "r",
                            session_timeout: Duration::from_secs(10),
                            rebalance_timeout: Duration::from_secs(60),
                            protocols: vec![("sessioned".into(), vec![1, 2])],
                        },
                        v,
                    )
                    .encode(&mut buf, v),
                    "SyncGroup" => sync_group_request("g", 3, "m", "sessioned", vec![("m".into(), vec![9])], v).encode(&mut buf, v),
                    "Heartbeat" => heartbeat_request("g", 3, "m").encode(&mut buf, v),
                    _ => leave_group_request("g", "m", v).encode(&mut buf, v),
                };
                assert!(result.is_ok(), "{api} v{v}: {result:?}");
            }
        }
    }

    #[test]
    fn join_group_carries_the_connect_protocol_type_and_a_reason_from_v8() {
        let params = |reason| JoinParams {
            group_id: "g",
            member_id: "m-1",
            reason,
            session_timeout: Duration::from_millis(6000),
            rebalance_timeout: Duration::from_secs(60),
            protocols: vec![("sessioned".into(), b"m-a".to_vec()), ("compatible".into(), b"m-b".to_vec())],
        };
        let request = join_group_request(params("new config"), 9);
        assert_eq!(request.protocol_type.as_str(), "connect");
        assert_eq!((request.session_timeout_ms, request.rebalance_timeout_ms), (6000, 60000));
        assert_eq!(request.reason.as_deref(), Some("new config"));
        let names: Vec<&str> = request.protocols.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["sessioned", "compatible"]);
        assert_eq!(request.protocols[1].metadata.as_ref(), b"m-b");
        assert_eq!(join_group_request(params("x"), 7).reason, None);
    }

    #[test]
    fn sync_group_names_the_protocol_from_v5_only() {
        let v5 = sync_group_request("g", 2, "m", "sessioned", vec![], 5);
        assert_eq!(v5.protocol_type.as_deref(), Some("connect"));
        assert_eq!(v5.protocol_name.as_deref(), Some("sessioned"));
        let v4 = sync_group_request("g", 2, "m", "sessioned", vec![], 4);
        assert_eq!((v4.protocol_type, v4.protocol_name), (None, None));
    }

    #[test]
    fn coordinators_are_read_from_either_response_shape() {
        let single = FindCoordinatorResponse::default().with_node_id(BrokerId(3)).with_host(str_bytes("h")).with_port(9092);
        assert_eq!(coordinator_from(single, 3, "b").expect("sane"), Ok(Coordinator { node_id: 3, host: "h".into(), port: 9092 }));
        let batch = FindCoordinatorResponse::default()
            .with_coordinators(vec![WireCoordinator::default().with_key(str_bytes("g")).with_error_code(codes::COORDINATOR_NOT_AVAILABLE)]);
        assert_eq!(coordinator_from(batch, 4, "b").expect("sane"), Err(codes::COORDINATOR_NOT_AVAILABLE));
        assert!(coordinator_from(FindCoordinatorResponse::default(), 4, "b").is_err());
        let bad_port = FindCoordinatorResponse::default().with_port(70000);
        assert!(coordinator_from(bad_port, 3, "b").is_err());
    }

    /// Framing, headers and version negotiation against the real broker, when there is one.
    #[tokio::test]
    async fn a_real_broker_agrees_on_versions_and_names_the_coordinator() {
        let bootstrap = std::env::var("TRIBUTARY_TEST_BOOTSTRAP").expect("TRIBUTARY_TEST_BOOTSTRAP is not set: run scripts/test.sh (it starts Apache Kafka)");
        let addr = bootstrap.split(',').next().unwrap_or_default().to_string();
        let mut conn = Connection::open(&addr, "wire-test", Duration::from_secs(10), &GroupSecurity::plaintext()).await.expect("connects");
        let v = conn.versions;
        eprintln!("versions agreed with {addr}: {v:?}");
        assert!(v.join_group >= 7 && v.sync_group == 5 && v.heartbeat == 4 && v.leave_group >= 4, "{v:?}");
        for _ in 0..2 {
            // Twice: correlation ids advance and the connection stays in step.
            let response = conn
                .send(&find_coordinator_request("wire-test-group", v.find_coordinator), v.find_coordinator, Duration::from_secs(10))
                .await
                .expect("answers");
            match coordinator_from(response, v.find_coordinator, &addr).expect("sane") {
                Ok(c) => {
                    eprintln!("coordinator: {c:?}");
                    assert!(c.port > 0 && !c.host.is_empty(), "{c:?}");
                }
                // A group's coordinator may need a moment the first time its partition is used.
                Err(code) => assert_eq!(code, codes::COORDINATOR_NOT_AVAILABLE),
            }
        }
    }
}
