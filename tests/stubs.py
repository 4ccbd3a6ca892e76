"""The generated stubs, every Aura service on one channel: for the tests that check the
wire itself (status codes, metadata, unset fields). Everything else uses the SDK."""

from __future__ import annotations

import grpc
from aura.v1 import (
    behavior_pb2_grpc,
    catalog_pb2_grpc,
    feedback_pb2_grpc,
    onboarding_pb2_grpc,
    recommend_pb2_grpc,
)


class AuraStubs:
    """One stub per service, sharing the channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.onboarding = onboarding_pb2_grpc.OnboardingServiceStub(channel)
        self.behavior = behavior_pb2_grpc.BehaviorServiceStub(channel)
        self.feedback = feedback_pb2_grpc.FeedbackServiceStub(channel)
        self.recommend = recommend_pb2_grpc.RecommendServiceStub(channel)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
