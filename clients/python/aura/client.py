"""A convenience over the generated stubs: every Aura service on one channel.

import grpc
from aura.client import AuraStubs

aura = AuraStubs(grpc.insecure_channel("localhost:50051"))
aura.recommend.Feed(recommend_pb2.FeedRequest(user_id="u1", lat=40.71, lng=-73.96))
"""

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
