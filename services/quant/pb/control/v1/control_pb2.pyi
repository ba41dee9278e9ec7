from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscriptionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_ACTION_UNSPECIFIED: _ClassVar[SubscriptionAction]
    SUBSCRIPTION_ACTION_ADD: _ClassVar[SubscriptionAction]
    SUBSCRIPTION_ACTION_REMOVE: _ClassVar[SubscriptionAction]
    SUBSCRIPTION_ACTION_CHANGE_MODE: _ClassVar[SubscriptionAction]
SUBSCRIPTION_ACTION_UNSPECIFIED: SubscriptionAction
SUBSCRIPTION_ACTION_ADD: SubscriptionAction
SUBSCRIPTION_ACTION_REMOVE: SubscriptionAction
SUBSCRIPTION_ACTION_CHANGE_MODE: SubscriptionAction

class SubscriptionRequest(_message.Message):
    __slots__ = ("action", "instrument_keys", "mode", "requested_by", "ts_event")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_KEYS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    action: SubscriptionAction
    instrument_keys: _containers.RepeatedScalarFieldContainer[str]
    mode: str
    requested_by: str
    ts_event: int
    def __init__(self, action: _Optional[_Union[SubscriptionAction, str]] = ..., instrument_keys: _Optional[_Iterable[str]] = ..., mode: _Optional[str] = ..., requested_by: _Optional[str] = ..., ts_event: _Optional[int] = ...) -> None: ...

class KillSwitch(_message.Message):
    __slots__ = ("engaged", "flatten", "reason", "trading_day", "ts_event", "strategy")
    ENGAGED_FIELD_NUMBER: _ClassVar[int]
    FLATTEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TRADING_DAY_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    engaged: bool
    flatten: bool
    reason: str
    trading_day: str
    ts_event: int
    strategy: str
    def __init__(self, engaged: _Optional[bool] = ..., flatten: _Optional[bool] = ..., reason: _Optional[str] = ..., trading_day: _Optional[str] = ..., ts_event: _Optional[int] = ..., strategy: _Optional[str] = ...) -> None: ...

class ControlEvent(_message.Message):
    __slots__ = ("subscription", "kill_switch")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    subscription: SubscriptionRequest
    kill_switch: KillSwitch
    def __init__(self, subscription: _Optional[_Union[SubscriptionRequest, _Mapping]] = ..., kill_switch: _Optional[_Union[KillSwitch, _Mapping]] = ...) -> None: ...
