"""moto_server with the CloudFormation resource types neo4jctl's templates use and moto lacks.

Run it exactly like moto_server:   python neo4jctl_moto.py -H 127.0.0.1 -p 5000

moto (5.2) builds its CloudFormation type map from CloudFormationModel.__subclasses__() on
first use. Every class below subclasses CloudFormationModel directly and sets __module__ under
"moto.<service>." (moto's InstanceTrackerMeta files models by that service), so defining them
before the server starts adds their types. Each one is backed by moto's own service backend,
so what a stack creates is visible through the ordinary APIs (servicediscovery ListServices,
ecs DescribeCapacityProviders, scheduler GetSchedule, cloudwatch DescribeAlarms, ...).

Shape of each class (the _Resource mixin does the CloudFormation plumbing):
  TYPE        the CloudFormation type
  NAME_PROP   the property that names the resource ("" if none); moto generates a name else
  ATTRS       the Fn::GetAtt attributes
  _create(cls, name, props, account, region) -> (physical id, {attr: value}, backend handle)
  _delete(self, account, region)
  _update(self, props, account, region) -> bool   optional in-place update (else replace)

Ref returns the physical id, as CloudFormation does for the type. Kept small on purpose:
each class is meant to be upstreamable into moto as is.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random
from moto.utilities.utils import get_partition

# Importing the backends also imports their models, so moto's own types are registered
# before ours: ours come last in __subclasses__ and win where a type clashes, which
# AWS::ECS::Service, AWS::EC2::Volume and the EC2 networking types do, on purpose (see those
# classes).
from moto.cloudwatch.models import MetricDataQuery, MetricStat, Metric, Dimension, cloudwatch_backends
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_block_store import Volume as MotoVolume
from moto.ec2.models.elastic_ip_addresses import ElasticAddress as MotoElasticAddress
from moto.ec2.models.internet_gateways import InternetGateway as MotoInternetGateway
from moto.ec2.models.nat_gateways import NatGateway as MotoNatGateway
from moto.ec2.models.route_tables import Route as MotoRoute
from moto.ec2.models.route_tables import RouteTable as MotoRouteTable
from moto.ec2.models.vpcs import VPC as MotoVPC
from moto.ec2.models.vpcs import VPCEndPoint as MotoVPCEndPoint
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment as MotoVPCGatewayAttachment
from moto.ecs.models import Service as MotoECSService
from moto.ecs.models import ecs_backends
from moto.kms.models import kms_backends
from moto.logs.models import logs_backends
from moto.route53.models import route53_backends
from moto.s3.models import FakeBucket as MotoFakeBucket
from moto.s3.models import s3_backends
from moto.scheduler.models import scheduler_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.servicediscovery.models import servicediscovery_backends
from moto.sns.models import sns_backends


class _Resource:
    """Mixin: CloudFormation plumbing shared by the models below (not a model itself)."""

    TYPE = ""
    NAME_PROP = ""
    ATTRS: tuple[str, ...] = ()

    def __init__(self, physical_id: str, attrs: dict[str, Any], handle: Any, props: dict[str, Any]):
        self._physical_id = physical_id
        self._attrs = attrs
        self.handle = handle  # the backend's object or key, for _delete/_update
        self.props = props

    # --- what moto's parser calls -------------------------------------------------------
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROP

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRS

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self._attrs:
            raise UnformattedGetAttTemplateException()
        return self._attrs[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        props = cloudformation_json.get("Properties", {})
        physical_id, attrs, handle = cls._create(resource_name, props, account_id, region_name)
        return cls(physical_id, attrs, handle, props)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        props = cloudformation_json.get("Properties", {})
        if original_resource._update(props, account_id, region_name):
            original_resource.props = props
            return original_resource
        # Replacement: create the new one first, then delete the old, as CloudFormation does.
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        original_resource.delete(account_id, region_name)
        return new

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete(account_id, region_name)

    # --- per type ----------------------------------------------------------------------
    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region: str) -> tuple[str, dict[str, Any], Any]:
        raise NotImplementedError

    def _delete(self, account_id: str, region: str) -> None:
        pass

    def _update(self, props: dict[str, Any], account_id: str, region: str) -> bool:
        return False


def _lower_keys(v: Any) -> Any:
    """CloudFormation's PascalCase keys to the ECS API's camelCase (moto's ECS backend keys)."""
    if isinstance(v, dict):
        return {k[:1].lower() + k[1:]: _lower_keys(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_lower_keys(x) for x in v]
    return v


def _same_except(old: dict[str, Any], new: dict[str, Any], *mutable: str) -> bool:
    """True when old and new differ at most in the given (updatable in place) properties."""
    strip = lambda d: {k: v for k, v in d.items() if k not in mutable}  # noqa: E731
    return strip(old) == strip(new)


# ----------------------------------------------------------------------------------------
# Cloud Map
# ----------------------------------------------------------------------------------------


class PrivateDnsNamespace(_Resource, CloudFormationModel):
    """AWS::ServiceDiscovery::PrivateDnsNamespace, in moto's servicediscovery backend.

    Approximated: moto also makes a private Route 53 zone (named "<name>-hz"); moto refuses a
    second namespace in the same VPC (AWS allows it with another name).
    """

    __module__ = "moto.servicediscovery.neo4jctl"
    TYPE = "AWS::ServiceDiscovery::PrivateDnsNamespace"
    NAME_PROP = "Name"
    ATTRS = ("Id", "Arn", "HostedZoneId")

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        backend = servicediscovery_backends[account_id][region]
        op = backend.create_private_dns_namespace(
            name=name,
            creator_request_id=str(mock_random.uuid4()),
            description=props.get("Description"),
            vpc=props["Vpc"],
            tags=props.get("Tags", []),
            properties=props.get("Properties", {}),
        )
        ns = backend.get_namespace(backend.get_operation(op).targets["NAMESPACE"])
        attrs = {"Id": ns.id, "Arn": ns.arn, "HostedZoneId": ns.dns_properties.get("HostedZoneId")}
        return ns.id, attrs, ns

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if not _same_except(self.props, props, "Description", "Tags", "Properties"):
            return False
        self.handle.description = props.get("Description")
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        # With its services (moto's DeleteNamespace orphans them; AWS refuses while any is
        # left, which neo4jctl's delete order never meets) and the private hosted zone moto
        # made for it (AWS deletes that zone with the namespace; moto's DeleteNamespace
        # keeps it).
        backend = servicediscovery_backends[account_id][region]
        for srv in [s for s in backend.services.values() if s.namespace_id == self.handle.id]:
            backend.delete_service(srv.id)
        if self.handle.id in backend.namespaces:
            backend.delete_namespace(self.handle.id)
        zone_id = self.handle.dns_properties.get("HostedZoneId")
        route53 = route53_backends[account_id][get_partition(region)]
        if zone_id and zone_id.replace("/hostedzone/", "") in route53.zones:
            route53.delete_hosted_zone(zone_id)


class ServiceDiscoveryService(_Resource, CloudFormationModel):
    """AWS::ServiceDiscovery::Service, in moto's servicediscovery backend.

    Approximated: nothing registers instances by itself (moto's ECS does not register tasks in
    Cloud Map); tests call RegisterInstance where they need records.
    """

    __module__ = "moto.servicediscovery.neo4jctl"
    TYPE = "AWS::ServiceDiscovery::Service"
    NAME_PROP = "Name"
    ATTRS = ("Id", "Arn", "Name")

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        backend = servicediscovery_backends[account_id][region]
        dns = dict(props.get("DnsConfig") or {})
        namespace_id = props.get("NamespaceId") or dns.pop("NamespaceId", None)
        srv = backend.create_service(
            name=name,
            namespace_id=namespace_id,
            creator_request_id=str(mock_random.uuid4()),
            description=props.get("Description"),
            dns_config=dns or None,
            health_check_config=props.get("HealthCheckConfig"),
            health_check_custom_config=props.get("HealthCheckCustomConfig"),
            tags=props.get("Tags", []),
            service_type=props.get("Type"),
        )
        return srv.id, {"Id": srv.id, "Arn": srv.arn, "Name": srv.name}, srv

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if not _same_except(self.props, props, "Description", "DnsConfig", "HealthCheckConfig", "Tags"):
            return False
        if (self.props.get("DnsConfig") or {}).get("NamespaceId") != (props.get("DnsConfig") or {}).get("NamespaceId"):
            return False
        details = {k: props[k] for k in ("Description", "DnsConfig", "HealthCheckConfig") if k in props}
        servicediscovery_backends[account_id][region].update_service(self.handle.id, details)
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        servicediscovery_backends[account_id][region].delete_service(self.handle.id)


# ----------------------------------------------------------------------------------------
# ECS capacity providers
# ----------------------------------------------------------------------------------------


class ECSCapacityProvider(_Resource, CloudFormationModel):
    """AWS::ECS::CapacityProvider, in moto's ECS backend (Ref: the provider's name).

    Approximated: managed scaling/draining are stored, not acted on.
    """

    __module__ = "moto.ecs.neo4jctl"
    TYPE = "AWS::ECS::CapacityProvider"
    NAME_PROP = "Name"
    ATTRS = ()

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        backend = ecs_backends[account_id][region]
        tags = [{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags", [])]
        cp = backend.create_capacity_provider(name, _lower_keys(props["AutoScalingGroupProvider"]), tags or None)
        return cp.name, {}, cp

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        old = dict(self.props.get("AutoScalingGroupProvider", {}))
        new = dict(props.get("AutoScalingGroupProvider", {}))
        if old.get("AutoScalingGroupArn") != new.get("AutoScalingGroupArn") or not _same_except(
            self.props, props, "AutoScalingGroupProvider", "Tags"
        ):
            return False
        new.pop("AutoScalingGroupArn", None)
        ecs_backends[account_id][region].update_capacity_provider(self.handle.name, _lower_keys(new))
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        backend = ecs_backends[account_id][region]
        if backend._get_provider(self.handle.name):
            backend.delete_capacity_provider(self.handle.name)


class ECSClusterCapacityProviderAssociations(_Resource, CloudFormationModel):
    """AWS::ECS::ClusterCapacityProviderAssociations, via moto's PutClusterCapacityProviders.

    Ref: the cluster name. Delete clears the cluster's providers and default strategy.
    """

    __module__ = "moto.ecs.neo4jctl"
    TYPE = "AWS::ECS::ClusterCapacityProviderAssociations"
    ATTRS = ()

    @classmethod
    def _put(cls, props, account_id, region):  # type: ignore[no-untyped-def]
        cluster = props["Cluster"].split("/")[-1]
        ecs_backends[account_id][region].put_cluster_capacity_providers(
            cluster, list(props.get("CapacityProviders", [])), _lower_keys(props.get("DefaultCapacityProviderStrategy", []))
        )
        return cluster

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        cluster = cls._put(props, account_id, region)
        return cluster, {}, cluster

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if props["Cluster"].split("/")[-1] != self.handle:
            return False
        self._put(props, account_id, region)
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        backend = ecs_backends[account_id][region]
        if self.handle in backend.clusters:
            backend.put_cluster_capacity_providers(self.handle, [], [])


# ----------------------------------------------------------------------------------------
# EventBridge Scheduler
# ----------------------------------------------------------------------------------------


class SchedulerScheduleGroup(_Resource, CloudFormationModel):
    """AWS::Scheduler::ScheduleGroup, in moto's scheduler backend."""

    __module__ = "moto.scheduler.neo4jctl"
    TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROP = "Name"
    ATTRS = ("Arn", "State", "CreationDate", "LastModificationDate")

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        group = scheduler_backends[account_id][region].create_schedule_group(name=name, tags=props.get("Tags", []))
        return name, {"Arn": group.arn, "State": "ACTIVE", "CreationDate": "", "LastModificationDate": ""}, name

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        return _same_except(self.props, props, "Tags")

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        backend = scheduler_backends[account_id][region]
        if self.handle in backend.schedule_groups:
            backend.delete_schedule_group(self.handle)


class SchedulerSchedule(_Resource, CloudFormationModel):
    """AWS::Scheduler::Schedule, in moto's scheduler backend (Ref: the schedule's name).

    Approximated: schedules are stored, never fired.
    """

    __module__ = "moto.scheduler.neo4jctl"
    TYPE = "AWS::Scheduler::Schedule"
    NAME_PROP = "Name"
    ATTRS = ("Arn",)

    @staticmethod
    def _args(name, props):  # type: ignore[no-untyped-def]
        return dict(
            description=props.get("Description"),
            end_date=props.get("EndDate"),
            flexible_time_window=props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            group_name=props.get("GroupName"),
            kms_key_arn=props.get("KmsKeyArn"),
            name=name,
            schedule_expression=props["ScheduleExpression"],
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
            start_date=props.get("StartDate"),
            state=props.get("State", "ENABLED"),
            target=props["Target"],
        )

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        s = scheduler_backends[account_id][region].create_schedule(action_after_completion=None, **cls._args(name, props))
        return s.name, {"Arn": s.arn}, (props.get("GroupName"), s.name)

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if self.props.get("Name") != props.get("Name") or self.props.get("GroupName") != props.get("GroupName"):
            return False
        scheduler_backends[account_id][region].update_schedule(**self._args(self.handle[1], props))
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        try:
            scheduler_backends[account_id][region].delete_schedule(*self.handle)
        except Exception:  # already gone
            pass


# ----------------------------------------------------------------------------------------
# CloudWatch alarms
# ----------------------------------------------------------------------------------------


def _metric_queries(metrics: list[dict[str, Any]] | None) -> list[MetricDataQuery] | None:
    if not metrics:
        return None
    out = []
    for m in metrics:
        stat = None
        if "MetricStat" in m:
            ms = m["MetricStat"]
            dims = [Dimension(d["Name"], d["Value"]) for d in ms["Metric"].get("Dimensions", [])]
            stat = MetricStat(
                metric=Metric(metric_name=ms["Metric"]["MetricName"], namespace=ms["Metric"].get("Namespace"), dimensions=dims),
                period=ms.get("Period"),
                stat=ms.get("Stat"),
                unit=ms.get("Unit"),
            )
        out.append(
            MetricDataQuery(
                query_id=m.get("Id"),
                label=m.get("Label"),
                period=m.get("Period"),
                return_data=m.get("ReturnData"),
                expression=m.get("Expression"),
                metric_stat=stat,
            )
        )
    return out


class CloudWatchAlarm(_Resource, CloudFormationModel):
    """AWS::CloudWatch::Alarm, in moto's cloudwatch backend (Ref: the alarm's name).

    Approximated: alarms start INSUFFICIENT_DATA and are never evaluated.
    """

    __module__ = "moto.cloudwatch.neo4jctl"
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROP = "AlarmName"
    ATTRS = ("Arn",)

    @classmethod
    def _put(cls, name, p, account_id, region):  # type: ignore[no-untyped-def]
        return cloudwatch_backends[account_id][region].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=p["EvaluationPeriods"],
            period=p.get("Period"),
            threshold=p.get("Threshold"),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=p.get("AlarmActions", []),
            metric_data_queries=_metric_queries(p.get("Metrics")),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            unit=p.get("Unit"),
            actions_enabled=p.get("ActionsEnabled", True) not in (False, "false"),
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"),
        )

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        alarm = cls._put(name, props, account_id, region)
        return alarm.name, {"Arn": alarm.alarm_arn}, alarm.name

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if self.props.get("AlarmName") != props.get("AlarmName"):
            return False
        self._put(self.handle, props, account_id, region)
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        cloudwatch_backends[account_id][region].delete_alarms([self.handle])


# ----------------------------------------------------------------------------------------
# Secrets Manager
# ----------------------------------------------------------------------------------------


class SecretsManagerSecret(_Resource, CloudFormationModel):
    """AWS::SecretsManager::Secret, in moto's secretsmanager backend (Ref and Id: the ARN).

    GenerateSecretString is honoured with moto's own GetRandomPassword. Approximated: an
    update keeps the secret value (as CloudFormation does) and only changes its description.
    """

    __module__ = "moto.secretsmanager.neo4jctl"
    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROP = "Name"
    ATTRS = ("Id",)

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        backend = secretsmanager_backends[account_id][region]
        value = props.get("SecretString")
        gen = props.get("GenerateSecretString")
        if gen is not None:
            password = backend.get_random_password(
                password_length=int(gen.get("PasswordLength", 32)),
                exclude_characters=gen.get("ExcludeCharacters", ""),
                exclude_numbers=bool(gen.get("ExcludeNumbers", False)),
                exclude_punctuation=bool(gen.get("ExcludePunctuation", False)),
                exclude_uppercase=bool(gen.get("ExcludeUppercase", False)),
                exclude_lowercase=bool(gen.get("ExcludeLowercase", False)),
                include_space=bool(gen.get("IncludeSpace", False)),
                require_each_included_type=bool(gen.get("RequireEachIncludedType", True)),
            )
            password = json.loads(password)["RandomPassword"]
            if "GenerateStringKey" in gen:
                doc = json.loads(gen.get("SecretStringTemplate", "{}"))
                doc[gen["GenerateStringKey"]] = password
                value = json.dumps(doc)
            else:
                value = password
        out = json.loads(
            backend.create_secret(
                name=name,
                secret_string=value,
                secret_binary=None,
                description=props.get("Description"),
                tags=props.get("Tags", []),
                kms_key_id=props.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return out["ARN"], {"Id": out["ARN"]}, out["ARN"]

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if self.props.get("Name") != props.get("Name"):
            return False
        secret = secretsmanager_backends[account_id][region].secrets.get(self.handle)
        if secret is not None:
            secret.description = props.get("Description")
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        backend = secretsmanager_backends[account_id][region]
        if backend.secrets.get(self.handle) is not None:
            backend.delete_secret(self.handle, recovery_window_in_days=None, force_delete_without_recovery=True)


# ----------------------------------------------------------------------------------------
# SNS, S3 and EC2 companions moto ignores (no GetAtt, but their effect should exist)
# ----------------------------------------------------------------------------------------


class SNSSubscription(_Resource, CloudFormationModel):
    """AWS::SNS::Subscription, via moto's SNS Subscribe (Ref: the subscription ARN).

    Approximated: e-mail subscriptions are confirmed at once.
    """

    __module__ = "moto.sns.neo4jctl"
    TYPE = "AWS::SNS::Subscription"
    ATTRS = ("Arn",)

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        backend = sns_backends[account_id][region]
        sub = backend.subscribe(props["TopicArn"], props.get("Endpoint"), props["Protocol"])
        for key in ("FilterPolicy", "RawMessageDelivery", "RedrivePolicy"):
            if key in props:
                val = props[key]
                val = json.dumps(val) if isinstance(val, dict) else str(val).lower() if isinstance(val, bool) else val
                backend.set_subscription_attributes(sub.arn, key, val)
        return sub.arn, {"Arn": sub.arn}, sub.arn

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        sns_backends[account_id][region].unsubscribe(self.handle)


class SNSTopicPolicy(_Resource, CloudFormationModel):
    """AWS::SNS::TopicPolicy, via moto's SNS SetTopicAttributes(Policy) on each topic."""

    __module__ = "moto.sns.neo4jctl"
    TYPE = "AWS::SNS::TopicPolicy"
    ATTRS = ("Id",)

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        backend = sns_backends[account_id][region]
        for topic in props["Topics"]:
            backend.set_topic_attribute(topic, "Policy", json.dumps(props["PolicyDocument"]))
        return name, {"Id": name}, list(props["Topics"])

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        self._create(self._physical_id, props, account_id, region)
        self.handle = list(props["Topics"])
        return True


class S3BucketPolicy(_Resource, CloudFormationModel):
    """AWS::S3::BucketPolicy, via moto's S3 PutBucketPolicy (Ref: the bucket name).

    The whole policy is stored, conditions included (GetBucketPolicy reads it back); moto
    evaluates their conditions as _install_policy_conditions below makes it.
    """

    __module__ = "moto.s3.neo4jctl"
    TYPE = "AWS::S3::BucketPolicy"
    ATTRS = ()

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        policy = props["PolicyDocument"]
        policy = json.loads(policy) if isinstance(policy, str) else dict(policy)
        s3_backends[account_id]["aws"].put_bucket_policy(props["Bucket"], json.dumps(policy).encode())
        return props["Bucket"], {}, props["Bucket"]

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if props["Bucket"] != self.handle:
            return False
        self._create(self.handle, props, account_id, region)
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        try:
            s3_backends[account_id]["aws"].delete_bucket_policy(self.handle)
        except Exception:  # bucket already gone
            pass


class SecurityGroupEgress(_Resource, CloudFormationModel):
    """AWS::EC2::SecurityGroupEgress, via moto's EC2 AuthorizeSecurityGroupEgress.

    Ref: the rule id (sgr-...). Approximated: replaced (revoke + authorize) on any change.
    """

    __module__ = "moto.ec2.neo4jctl"
    TYPE = "AWS::EC2::SecurityGroupEgress"
    ATTRS = ("Id",)

    @staticmethod
    def _rule(p):  # type: ignore[no-untyped-def]
        ip_ranges = [{"CidrIp": p["CidrIp"], "Description": p.get("Description")}] if "CidrIp" in p else []
        if "CidrIpv6" in p:
            ip_ranges.append({"CidrIpv6": p["CidrIpv6"], "Description": p.get("Description")})
        groups = [{"GroupId": p["DestinationSecurityGroupId"], "Description": p.get("Description")}] if "DestinationSecurityGroupId" in p else []
        prefixes = [{"PrefixListId": p["DestinationPrefixListId"]}] if "DestinationPrefixListId" in p else []
        return dict(
            group_name_or_id=p["GroupId"],
            ip_protocol=str(p["IpProtocol"]),
            from_port=p.get("FromPort"),
            to_port=p.get("ToPort"),
            ip_ranges=ip_ranges,
            source_groups=groups,
            prefix_list_ids=prefixes,
        )

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        rules, _ = ec2_backends[account_id][region].authorize_security_group_egress(**cls._rule(props))
        rule_id = rules[0].id if rules else name
        return rule_id, {"Id": rule_id}, cls._rule(props)

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        try:
            ec2_backends[account_id][region].revoke_security_group_egress(**self.handle)
        except Exception:  # group already gone
            pass


# ----------------------------------------------------------------------------------------
# Overrides of types moto has but models too thinly for neo4jctl
# ----------------------------------------------------------------------------------------


class ECSService(CloudFormationModel):
    """AWS::ECS::Service: moto's own model, created with the properties moto's drops.

    moto 5.2 creates the service from Cluster, TaskDefinition and DesiredCount only, and never
    deletes it with the stack. This passes ServiceRegistries, NetworkConfiguration, Tags,
    PropagateTags, LaunchType, DeploymentController and PlatformVersion to moto's ECS backend,
    records CapacityProviderStrategy and PlacementConstraints on the service (DescribeServices
    shows them), and deletes the service with the stack. Updates are moto's (desired count,
    task definition). Approximated: no tasks are started (runningCount stays 0).
    """

    __module__ = "moto.ecs.neo4jctl"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::Service"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ServiceName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Name", "ServiceArn")

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        p = cloudformation_json["Properties"]
        backend = ecs_backends[account_id][region_name]
        svc = backend.create_service(
            str(p["Cluster"]).split("/")[-1],
            resource_name,
            p.get("DesiredCount"),
            task_definition_str=p.get("TaskDefinition"),
            scheduling_strategy=p.get("SchedulingStrategy"),
            tags=[{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags", [])] or None,
            deployment_controller=_lower_keys(p.get("DeploymentController")),
            launch_type=p.get("LaunchType"),
            service_registries=_lower_keys(p.get("ServiceRegistries")),
            platform_version=p.get("PlatformVersion"),
            propagate_tags=p.get("PropagateTags", "NONE"),
            network_configuration=_lower_keys(p.get("NetworkConfiguration")),
            role_arn=p.get("Role"),
        )
        svc.capacity_provider_strategy = _lower_keys(p.get("CapacityProviderStrategy"))
        svc.placement_constraints = _lower_keys(p.get("PlacementConstraints"))
        return svc

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        svc = MotoECSService.update_from_cloudformation_json(original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        p = cloudformation_json["Properties"]
        svc.capacity_provider_strategy = _lower_keys(p.get("CapacityProviderStrategy"))
        svc.placement_constraints = _lower_keys(p.get("PlacementConstraints"))
        return svc

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        # resource_name is the physical id, arn:...:service/<cluster>/<name> (the template's
        # Cluster property is unresolved here).
        cluster, name = resource_name.split(":service/")[-1].split("/")[-2:]
        backend = ecs_backends[account_id][region_name]
        if f"{cluster}:{name}" in backend.services:
            backend.delete_service(cluster, name, force=True)

    def is_created(self) -> bool:
        return True


class EC2Volume(CloudFormationModel):
    """AWS::EC2::Volume: moto's own volume, created with the properties moto's model drops.

    moto 5.2 passes only Size and AvailabilityZone (no tags, type, IOPS, throughput,
    encryption) and never deletes the volume. This passes them all, tags it, and deletes it
    with the stack unless DeletionPolicy is Retain (moto's stack delete honours Retain).
    """

    __module__ = "moto.ec2.neo4jctl"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::Volume"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("VolumeId",)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        p = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        vol = backend.create_volume(
            size=int(p["Size"]) if "Size" in p else None,
            zone_name=p.get("AvailabilityZone"),
            snapshot_id=p.get("SnapshotId"),
            encrypted=p.get("Encrypted", False) in (True, "true"),
            kms_key_id=p.get("KmsKeyId"),
            volume_type=p.get("VolumeType"),
            iops=int(p["Iops"]) if "Iops" in p else None,
            throughput=int(p["Throughput"]) if "Throughput" in p else None,
            multi_attach_enabled=p.get("MultiAttachEnabled"),
        )
        if p.get("Tags"):
            backend.create_tags([vol.id], {t["Key"]: t["Value"] for t in p["Tags"]})
        return vol

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        # Size, type, IOPS and throughput change in place (ModifyVolume); tags are re-applied.
        p = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        backend.modify_volume(
            original_resource.id,
            target_size=int(p["Size"]) if "Size" in p else None,
            target_volume_type=p.get("VolumeType"),
        )
        if p.get("Tags"):
            backend.create_tags([original_resource.id], {t["Key"]: t["Value"] for t in p["Tags"]})
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = ec2_backends[account_id][region_name]
        if resource_name in backend.volumes:
            backend.delete_volume(resource_name)

    def is_created(self) -> bool:
        return True


# ----------------------------------------------------------------------------------------
# EC2 networking: what moto's stack delete leaves behind
# ----------------------------------------------------------------------------------------
#
# moto 5.2 gives AWS::EC2::RouteTable, Route, NatGateway, EIP, InternetGateway,
# VPCGatewayAttachment and VPCEndpoint no delete at all (its stack delete skips them without
# a word), and its SubnetRouteTableAssociation never associates anything. So a stack with a
# VPC cannot be deleted: DeleteVpc refuses while route tables other than the main one exist
# (DependencyViolation), and the rest would be left behind anyway. Each class below is moto's
# own model plus the missing delete (upstream, the method would go on moto's class); the
# stack delete calls it with the physical id. moto deletes a stack's resources in passes,
# retrying what failed while the number left goes down, so a delete that AWS would refuse
# (DependencyViolation) is simply retried after the resources it waits for are gone.


def _ec2(account_id: str, region: str) -> Any:
    return ec2_backends[account_id][region]


class EC2RouteTable(MotoRouteTable, CloudFormationModel):
    """AWS::EC2::RouteTable: deleted with the stack (DependencyViolation while associated)."""

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        if resource_name in backend.route_tables:
            backend.delete_route_table(resource_name)


class EC2Route(MotoRoute, CloudFormationModel):
    """AWS::EC2::Route: deleted with the stack. Physical id: moto's "<rtb-id>~<destination>"."""

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        table_id, destination = resource_name.split("~", 1)
        table = backend.route_tables.get(table_id)
        if table is not None and resource_name in table._routes:  # else it went with its table
            backend.delete_route(table_id, destination)


class SubnetRouteTableAssociation(_Resource, CloudFormationModel):
    """AWS::EC2::SubnetRouteTableAssociation, via moto's EC2 AssociateRouteTable.

    moto's own model only records the pair where no API reads it (DescribeRouteTables shows
    no association) and gives the route table id as physical id. This associates for real
    (Ref and Id: the rtbassoc- id) and disassociates on delete. A new route table for the
    same subnet is ReplaceRouteTableAssociation, as in AWS.
    """

    __module__ = "moto.ec2.neo4jctl"
    TYPE = "AWS::EC2::SubnetRouteTableAssociation"
    ATTRS = ("Id",)

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        assoc = _ec2(account_id, region).associate_route_table(props["RouteTableId"], subnet_id=props["SubnetId"])
        return assoc, {"Id": assoc}, assoc

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if props.get("SubnetId") != self.props.get("SubnetId"):
            return False
        if props.get("RouteTableId") != self.props.get("RouteTableId"):
            self.handle = _ec2(account_id, region).replace_route_table_association(self.handle, props["RouteTableId"])
            self._physical_id, self._attrs = self.handle, {"Id": self.handle}
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region)
        if any(self.handle in t._associations for t in backend.route_tables.values()):
            backend.disassociate_route_table(self.handle)


class EC2NatGateway(MotoNatGateway, CloudFormationModel):
    """AWS::EC2::NatGateway: deleted with the stack, as moto's DeleteNatGateway does.

    Like AWS, the gateway stays listed in state "deleted"; its network interface goes and its
    Elastic IP is disassociated (moto's DeleteNatGateway only sets the state).
    """

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        nat = backend.nat_gateways.get(resource_name)
        if nat is None or nat.state == "deleted":
            return
        backend.delete_nat_gateway(resource_name)
        for eip in backend.addresses:
            if eip.eni is not None and eip.eni.id == nat._eni.id:
                backend.disassociate_address(address=eip.public_ip)
        backend.enis.pop(nat._eni.id, None)


class EC2EIP(MotoElasticAddress, CloudFormationModel):
    """AWS::EC2::EIP: released with the stack (physical id: the public IP).

    Like AWS, not while a NAT gateway holds it (the delete is retried after the gateway's).
    """

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        eips = backend.address_by_ip([resource_name], fail_if_not_found=False)
        if not eips:
            return
        for nat in backend.nat_gateways.values():
            if nat.state != "deleted" and any(a.get("allocationId") == eips[0].allocation_id for a in nat.address_set):
                raise DependencyViolationError(f"The address {resource_name} is in use by {nat.id}")
        backend.release_address(address=resource_name)


class EC2InternetGateway(MotoInternetGateway, CloudFormationModel):
    """AWS::EC2::InternetGateway: deleted with the stack (DependencyViolation while attached)."""

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        if resource_name in backend.internet_gateways:
            backend.delete_internet_gateway(resource_name)


class EC2VPCGatewayAttachment(MotoVPCGatewayAttachment, CloudFormationModel):
    """AWS::EC2::VPCGatewayAttachment: detached with the stack.

    moto's physical id is the VPC id; the gateway is the internet (or VPN) gateway attached
    to it (a VPC has at most one of each, and the delete gets no resolved properties).
    """

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        for igw in list(backend.internet_gateways.values()):
            if igw.vpc is not None and igw.vpc.id == resource_name:
                backend.detach_internet_gateway(igw.id, resource_name)
        for vgw in backend.vpn_gateways.values():
            attachment = vgw.attachments.get(resource_name)
            if attachment is not None and attachment.state == "attached":
                backend.detach_vpn_gateway(vgw.id, resource_name)


class EC2VPCEndpoint(MotoVPCEndPoint, CloudFormationModel):
    """AWS::EC2::VPCEndpoint: deleted with the stack, as moto's DeleteVpcEndpoints does.

    Like AWS, the endpoint stays listed in state "deleted". A gateway endpoint's routes are
    removed from the route tables still there (moto's DeleteVpcEndpoints fails on a route
    table that is already gone, and the stack delete does not order the two).
    """

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        vpce = backend.vpc_end_points.get(resource_name)
        if vpce is None or vpce.state == "deleted":
            return
        vpce.route_table_ids = [t for t in (vpce.route_table_ids or []) if t in backend.route_tables]
        backend.delete_vpc_endpoints([resource_name])


class EC2VPC(MotoVPC, CloudFormationModel):
    """AWS::EC2::VPC: moto's delete, but like AWS not while an internet gateway is attached.

    (moto's DeleteVpc has that check as a TODO; without it the VPC could go first and the
    gateway's detach would then name a VPC that no longer exists.)
    """

    __module__ = "moto.ec2.neo4jctl"

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        backend = _ec2(account_id, region_name)
        if resource_name not in backend.vpcs:
            return
        for igw in backend.internet_gateways.values():
            if igw.vpc is not None and igw.vpc.id == resource_name:
                raise DependencyViolationError(f"The vpc {resource_name} has dependencies and cannot be deleted.")
        backend.delete_vpc(resource_name)


class KMSKey(CloudFormationModel):
    """AWS::KMS::Key: moto's own key, created so that moto's model does not fail.

    moto 5.2 hands CloudFormation's Tags ({Key, Value}) to a backend that wants
    {TagKey, TagValue} (KeyError: the key is not created, and a GetAtt to it fails the stack),
    passes KeyPolicy as a dict, and has no update (an updated key became None). This converts
    both and updates description, policy, rotation and enabled state in place.
    """

    __module__ = "moto.kms.neo4jctl"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KMS::Key"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "KeyId")

    @staticmethod
    def _apply(key, p):  # type: ignore[no-untyped-def]
        key.key_rotation_status = p.get("EnableKeyRotation", False) in (True, "true")
        key.enabled = p.get("Enabled", True) not in (False, "false")
        key.description = p.get("Description", "")

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        p = cloudformation_json["Properties"]
        policy = p.get("KeyPolicy")
        key = kms_backends[account_id][region_name].create_key(
            policy=json.dumps(policy) if isinstance(policy, dict) else policy,
            key_usage=p.get("KeyUsage", "ENCRYPT_DECRYPT"),
            key_spec=p.get("KeySpec", "SYMMETRIC_DEFAULT"),
            description=p.get("Description", ""),
            tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in p.get("Tags", [])],
            multi_region=p.get("MultiRegion", False) in (True, "true"),
        )
        cls._apply(key, p)
        return key

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        p = cloudformation_json["Properties"]
        policy = p.get("KeyPolicy")
        if policy is not None:
            original_resource.policy = json.dumps(policy) if isinstance(policy, dict) else policy
        cls._apply(original_resource, p)
        return original_resource

    def is_created(self) -> bool:
        return True


class LogsMetricFilter(_Resource, CloudFormationModel):
    """AWS::Logs::MetricFilter, in moto's logs backend (Ref: the filter's name)."""

    __module__ = "moto.logs.neo4jctl"
    TYPE = "AWS::Logs::MetricFilter"
    NAME_PROP = "FilterName"
    ATTRS = ()

    @classmethod
    def _create(cls, name, props, account_id, region):  # type: ignore[no-untyped-def]
        logs_backends[account_id][region].put_metric_filter(
            name, props.get("FilterPattern", ""), props["LogGroupName"], _metric_transformations(props)
        )
        return name, {}, (name, props["LogGroupName"])

    def _update(self, props, account_id, region):  # type: ignore[no-untyped-def]
        if (self.handle[1], self.props.get("FilterName")) != (props["LogGroupName"], props.get("FilterName")):
            return False
        self._create(self.handle[0], props, account_id, region)
        return True

    def _delete(self, account_id, region):  # type: ignore[no-untyped-def]
        logs_backends[account_id][region].delete_metric_filter(*self.handle)


def _metric_transformations(props: dict[str, Any]) -> list[dict[str, Any]]:
    # The logs API (and moto) take the same PascalCase keys as CloudFormation.
    return [dict(t) for t in props.get("MetricTransformations", [])]


# ----------------------------------------------------------------------------------------
# Intrinsic functions moto's template parser lacks
# ----------------------------------------------------------------------------------------


def _install_fn_cidr() -> None:
    """Fn::Cidr [ipBlock, count, cidrBits]: moto 5.2's clean_json leaves it unresolved.

    clean_json recurses through its module global, so wrapping that global covers nesting.
    """
    import ipaddress

    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            block, count, bits = (clean_json(x, resources_map) for x in resource_json["Fn::Cidr"])
            net = ipaddress.ip_network(block, strict=False)
            subnets = net.subnets(new_prefix=net.max_prefixlen - int(bits))
            return [str(next(subnets)) for _ in range(int(count))]
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


_install_fn_cidr()


def _install_fn_get_azs_of_the_region() -> None:
    """Fn::GetAZs "": the stack's own region's AZs, in alphabetical order, as AWS answers.

    moto 5.2 answers us-east-1a..d for "" whatever the region, so a VPC stack in eu-west-1 put
    its subnets in AZs of another region and every volume placed by them had no AZ at all.
    (AWS answers only AZs with a default subnet where the default VPC has some; moto's
    default VPC has one in every AZ.)
    """
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            region = clean_json(resource_json["Fn::GetAZs"], resources_map) or resources_map._region_name
            zones = ec2_backends[resources_map._account_id][region].describe_availability_zones()
            return sorted(z.name for z in zones if getattr(z, "zone_type", "availability-zone") == "availability-zone")
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


_install_fn_get_azs_of_the_region()


def _install_custom_resources_without_docker() -> None:
    """Custom:: resources: complete at once when Lambda runs without Docker.

    moto invokes the backing Lambda and waits for it to PUT its answer to the ResponseURL.
    With lambda use_docker false (how the tests configure moto) no code runs and nothing
    answers, so the stack would stay CREATE_IN_PROGRESS forever. Approximated: the resource
    is marked created with no data (Fn::GetAtt on it gives nothing) right after the invoke.
    """
    from moto.cloudformation import custom_model
    from moto.core.config import default_user_config

    original = custom_model.CustomModel.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        resource = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        if not default_user_config.get("lambda", {}).get("use_docker", True):
            resource.set_data({})
        return resource

    custom_model.CustomModel.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


_install_custom_resources_without_docker()


def _install_launch_interfaces_go_with_instance() -> None:
    """Network interfaces an instance launch creates are deleted when it terminates.

    AWS defaults DeleteOnTermination to true for an interface created at launch (the primary
    one always is); moto 5.2 sets it only when the request says so, so every instance an
    Auto Scaling group ever ran leaves its primary interface in the subnet (and the VPC)
    after the group is deleted. An explicit DeleteOnTermination, and interfaces attached by
    id, keep moto's behaviour.
    """
    from moto.ec2.models.instances import Instance

    prep_nics = Instance.prep_nics

    def prep(self, nic_spec, *args, **kwargs):  # type: ignore[no-untyped-def]
        given = {n.get("NetworkInterfaceId") for n in nic_spec} - {None}
        explicit = {int(n["DeviceIndex"]) for n in nic_spec if "DeleteOnTermination" in n}
        prep_nics(self, nic_spec, *args, **kwargs)
        for index, nic in self.nics.items():
            if nic.id not in given and index not in explicit:
                nic.delete_on_termination = True

    Instance.prep_nics = prep  # type: ignore[method-assign]


_install_launch_interfaces_go_with_instance()


def _install_subnet_ips_one_at_a_time() -> None:
    """A subnet hands out its private IPs to one launch at a time.

    moto 5.2 takes an instance's IP from the subnet's one generator; the threaded server runs
    parallel stack creates (the members of a cluster), and two launches in one subnet at once
    failed one of them with "generator already executing" (a 500, the stack create failed).
    """
    import threading

    from moto.ec2.models.subnets import Subnet

    lock = threading.Lock()
    get = Subnet.get_available_subnet_ip

    def get_available_subnet_ip(self, instance):  # type: ignore[no-untyped-def]
        with lock:
            return get(self, instance)

    Subnet.get_available_subnet_ip = get_available_subnet_ip  # type: ignore[method-assign]


_install_subnet_ips_one_at_a_time()

def _install_deleted_stacks_stay_deleted() -> None:
    """A deleted stack's resources are not created again by reading the stack.

    moto's ResourceMap creates a resource on first lookup, and its stack delete forgets each
    resource it deletes. Reading a deleted stack by id then creates them again: DescribeStacks
    resolves the outputs and export values (every resource an output refers to, e.g. the VPC
    and its subnets), ListStackResources and DescribeStackResources walk every resource.
    After its delete, a map answers with what is left (resources kept by DeletionPolicy
    Retain) and creates nothing, and a deleted stack has no outputs or exports (they would
    name resources that are gone).
    """
    from moto.cloudformation import models, parsing

    rm = parsing.ResourceMap
    delete, getitem = rm.delete, rm.__getitem__

    def deleted(self) -> None:  # type: ignore[no-untyped-def]
        try:
            delete(self)
        finally:
            self._neo4jctl_deleted = True

    def lookup(self, key):  # type: ignore[no-untyped-def]
        if getattr(self, "_neo4jctl_deleted", False) and key not in self._parsed_resources:
            if key not in self._resource_json_map:
                raise KeyError(key)
            return None
        return getitem(self, key)

    def keys(self):  # type: ignore[no-untyped-def]
        if getattr(self, "_neo4jctl_deleted", False):
            return iter([k for k in self.resources if k in self._parsed_resources])
        return iter(self.resources)

    rm.delete = deleted  # type: ignore[method-assign]
    rm.__getitem__ = lookup  # type: ignore[method-assign]
    rm.__iter__ = keys  # type: ignore[method-assign]
    rm.__len__ = lambda self: sum(1 for _ in keys(self))  # type: ignore[method-assign]

    stack = models.Stack
    outputs, exports = stack.outputs, stack.exports
    stack.outputs = property(lambda self: None if self.status == "DELETE_COMPLETE" else outputs.fget(self))  # type: ignore[method-assign,assignment]
    stack.exports = property(lambda self: [] if self.status == "DELETE_COMPLETE" else exports.fget(self))  # type: ignore[method-assign,assignment]


_install_deleted_stacks_stay_deleted()


def _install_change_sets_without_changes_fail_like_aws() -> None:
    """CreateChangeSet with nothing to change succeeds, and the change set is FAILED, as on AWS.

    moto 5.2 answers CreateChangeSet itself with "No updates are to be performed" (UpdateStack's
    answer) whenever parameters are passed and equal the stack's, and only then; without
    parameters it makes the change set, which its model marks FAILED with AWS's reason ("The
    submitted information didn't contain changes"). This skips the UpdateStack check for
    change sets, so a stack with parameters behaves like one without, and like AWS.
    """
    from moto.cloudformation.responses import CloudFormationResponse

    original = CloudFormationResponse.create_change_set

    def create_change_set(self):  # type: ignore[no-untyped-def]
        self._validate_different_update = lambda *args, **kwargs: None
        try:
            return original(self)
        finally:
            del self._validate_different_update

    CloudFormationResponse.create_change_set = create_change_set  # type: ignore[method-assign]


_install_change_sets_without_changes_fail_like_aws()


def _install_import_value_everywhere() -> None:
    """Fn::ImportValue resolves in stacks made by CREATE change sets, and under parallel creates.

    moto 5.2 hands CreateStack's new stack the region's exports, but not a stack made by a
    CREATE change set, so executing one that imports fails with "No export named ... found"
    where AWS resolves it (an update that adds the replicas stack); after the execution the
    stack has no outputs (its output map was made from the empty template the change set
    reserved) and exports nothing. And it resolves an import by iterating the region's export
    dict, which a parallel CreateStack may be adding to ("dictionary changed size during
    iteration": a 500). Here a CREATE change set's stack imports from the region's exports,
    an executed change set's outputs are read from its template (as UpdateStack does) and a
    new stack's exports are registered, and an import is a lookup by name. Upstream:
    create_change_set would pass cross_stack_resources=self.exports, execute_change_set would
    rebuild the output map and register exports, clean_json would use .get(name).
    """
    from moto.cloudformation import models, parsing
    from moto.cloudformation.exceptions import ExportNotFound

    clean = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::ImportValue" in resource_json:
            name = clean_json(resource_json["Fn::ImportValue"], resources_map)
            export = (resources_map.cross_stack_resources or {}).get(name)
            if export is None:
                raise ExportNotFound(name)
            return export.value
        return clean(resource_json, resources_map)

    parsing.clean_json = clean_json

    backend = models.CloudFormationBackend
    create_change_set, execute_change_set = backend.create_change_set, backend.execute_change_set

    def create(self, stack_name, change_set_name, template, parameters, description, change_set_type, *args, **kwargs):  # type: ignore[no-untyped-def]
        change_set_id, stack_id = create_change_set(self, stack_name, change_set_name, template, parameters, description, change_set_type, *args, **kwargs)
        if change_set_type == "CREATE":
            stack = self.stacks[stack_id]
            stack.cross_stack_resources = stack.resource_map.cross_stack_resources = self.exports
        return change_set_id, stack_id

    def execute(self, change_set_name, stack_name=None):  # type: ignore[no-untyped-def]
        execute_change_set(self, change_set_name, stack_name)
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        if change_set.change_set_type == "CREATE":
            self._validate_export_uniqueness(stack)
            for export in stack.exports:
                self.exports[export.name] = export

    backend.create_change_set = create  # type: ignore[method-assign]
    backend.execute_change_set = execute  # type: ignore[method-assign]


_install_import_value_everywhere()


def _install_asg_capacity_rebalance() -> None:
    """AWS::AutoScaling::AutoScalingGroup keeps CapacityRebalance.

    moto 5.2's CloudFormation model creates the group without it (DescribeAutoScalingGroups
    then says false); its CreateAutoScalingGroup API takes it. Upstream, the model would pass
    properties.get("CapacityRebalance") to create_auto_scaling_group.
    """
    from moto.autoscaling.models import FakeAutoScalingGroup

    original = FakeAutoScalingGroup.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        group = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        group.capacity_rebalance = cloudformation_json["Properties"].get("CapacityRebalance", False) in (True, "true")
        return group

    FakeAutoScalingGroup.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


_install_asg_capacity_rebalance()


def _install_ecs_container_strings() -> None:
    """ECS RunTask/DescribeTasks answer a container's cpu and memory as strings.

    moto 5.2 copies them from the container definition, where they are numbers, into the
    task's containers, where the API's shape says string: the Go SDK refuses the whole answer
    ("expected string, got 0"). Upstream, Container.__init__ would str() them.
    """
    from moto.ecs.models import Container

    original = Container.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        for attr in ("cpu", "memory"):
            if getattr(self, attr, None) is not None:
                setattr(self, attr, str(getattr(self, attr)))

    Container.__init__ = init  # type: ignore[method-assign]


_install_ecs_container_strings()


def _install_task_definition_properties() -> None:
    """AWS::ECS::TaskDefinition keeps NetworkMode, RequiresCompatibilities, Cpu and its roles.

    moto 5.2's model registers Family, ContainerDefinitions, Volumes and Memory only, so a
    Fargate awsvpc task definition becomes an EC2 bridge one: RunTask then neither requires a
    network configuration nor gives the task an interface in its subnet with its security
    groups, as ECS does (the backup tasks' network is read back that way). Upstream, the
    model would pass these properties to register_task_definition.
    """
    from moto.ecs.models import TaskDefinition
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    def keep(td, props):  # type: ignore[no-untyped-def]
        requires = props.get("RequiresCompatibilities")
        if requires:
            td.requires_compatibilities = requires
            td.compatibilities = ["EC2", "FARGATE"] if "FARGATE" in requires else ["EC2"]
        if props.get("NetworkMode"):
            td.network_mode = props["NetworkMode"]
        for attr, prop in (("cpu", "Cpu"), ("task_role_arn", "TaskRoleArn"), ("execution_role_arn", "ExecutionRoleArn")):
            if props.get(prop) is not None:
                setattr(td, attr, str(props[prop]))
        return td

    create = TaskDefinition.create_from_cloudformation_json.__func__
    update = TaskDefinition.update_from_cloudformation_json.__func__

    def created(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        td = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        return keep(td, cloudformation_json["Properties"])

    def updated(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        # moto's update compares and registers the template's PascalCase container
        # definitions where create stores camelCase ones: every update made a new revision
        # whose containers DescribeTaskDefinition could not read (no image). As create does:
        props = dict(cloudformation_json["Properties"])
        for key in ("ContainerDefinitions", "Volumes"):
            props[key] = remap_nested_keys(props.get(key, []), pascal_to_camelcase)
        td = update(cls, original_resource, new_resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name)
        return keep(td, cloudformation_json["Properties"])

    TaskDefinition.create_from_cloudformation_json = classmethod(created)  # type: ignore[method-assign]
    TaskDefinition.update_from_cloudformation_json = classmethod(updated)  # type: ignore[method-assign]


_install_task_definition_properties()


def _install_eni_private_dns_name() -> None:
    """A network interface always has a private_dns_name attribute.

    moto 5.2 sets it only in a VPC with DNS hostnames on, and RunTask of an awsvpc task reads
    it for the task's attachment: in any other VPC every such RunTask failed with a 500. The
    attribute now reads None where moto set none (left out of answers, as before).
    """
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    def get(self):  # type: ignore[no-untyped-def]
        return self.__dict__.get("_neo4jctl_private_dns_name")

    def set_(self, value):  # type: ignore[no-untyped-def]
        self.__dict__["_neo4jctl_private_dns_name"] = value

    NetworkInterface.private_dns_name = property(get, set_)  # type: ignore[attr-defined]


_install_eni_private_dns_name()
def _install_public_parameter_publishing() -> None:
    """AWS publishing a new value of one of its public SSM parameters (a new ECS-optimized AMI).

    PutParameter refuses names under /aws/ as AWS does. A PutParameter that carries the header
    x-neo4jctl-test-publish: aws (no SDK sends it) instead adds a version to such a parameter
    in the caller's account and region, which is how AWS's own publication looks to them: the
    next GetParameter, and the next stack deployment resolving it, get the new value.
    """
    from moto.ssm.models import Parameter
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    original = SimpleSystemManagerResponse.put_parameter

    def put_parameter(self):  # type: ignore[no-untyped-def]
        name = self._get_param("Name") or ""
        if self.headers.get("x-neo4jctl-test-publish") != "aws" or not name.startswith("/aws/service/"):
            return original(self)
        backend = self.ssm_backend
        versions = backend._parameters[name]  # loads the region's public parameters first
        version = len(versions) + 1
        versions.append(Parameter(account_id=backend.account_id, name=name, value=self._get_param("Value"),
                                  parameter_type="String", description=None, allowed_pattern=None, keyid=None,
                                  last_modified_date=utcnow(), version=version, data_type=self._get_param("DataType", "text")))
        return ActionResult({"Version": version, "Tier": "Standard"})

    SimpleSystemManagerResponse.put_parameter = put_parameter  # type: ignore[method-assign]


_install_public_parameter_publishing()


def _install_ssm_typed_parameters_described_like_aws() -> None:
    """DescribeStacks gives an SSM-typed parameter's path as its value and the value it resolved
    to as ResolvedValue, as AWS does.

    moto 5.2 reports the resolved value (an AMI id) as ParameterValue and no ResolvedValue, so
    what a stack was deployed with (the path) is lost. Upstream, Stack.parameter_list would
    keep the given value and add the resolved one.
    """
    from moto.cloudformation import models

    stack = models.Stack
    original = stack.parameter_list

    def parameter_list(self):  # type: ignore[no-untyped-def]
        out = original.fget(self)
        slots = self.template_dict.get("Parameters") or {}
        for p in out:
            slot = slots.get(p["ParameterKey"]) or {}
            if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
                p["ResolvedValue"] = p["ParameterValue"]
                p["ParameterValue"] = (self.parameters or {}).get(p["ParameterKey"]) or slot.get("Default")
        return out

    stack.parameter_list = property(parameter_list)  # type: ignore[method-assign,assignment]


_install_ssm_typed_parameters_described_like_aws()


def _install_change_sets_show_parameter_changes() -> None:
    """A change set lists the resources that refer to a parameter whose value changed, as AWS's
    does (Modify, caused by a ParameterReference).

    moto 5.2's ResourceMap.build_resource_diff finds them when given the new parameters, but
    ChangeSet.diff never passes them: a change set that changes only a parameter (a pinned AMI
    moved, a desired count) completes empty, and an empty change set is no change. Upstream,
    ChangeSet.diff would pass self.parameters to build_change_set_actions.
    """
    from moto.cloudformation import models

    original = models.ChangeSet.diff

    def diff(self):  # type: ignore[no-untyped-def]
        resource_map = self.stack.resource_map
        build = resource_map.build_resource_diff
        resource_map.build_resource_diff = lambda template, parameters=None: build(template, self.parameters)
        try:
            return original(self)
        finally:
            del resource_map.build_resource_diff

    models.ChangeSet.diff = diff  # type: ignore[method-assign]


_install_change_sets_show_parameter_changes()


def _install_subnet_availability_zone() -> None:
    """AWS::EC2::Subnet answers Fn::GetAtt AvailabilityZone.

    moto 5.2 declares the attribute and then raises NotImplementedError for it, so the VPC
    stack's AZ outputs, and every member volume placed by them, had no AZ. Upstream, Subnet's
    get_cfn_attribute would return self.availability_zone.
    """
    from moto.ec2.models.subnets import Subnet

    original = Subnet.get_cfn_attribute

    def get_cfn_attribute(self, attribute_name):  # type: ignore[no-untyped-def]
        if attribute_name == "AvailabilityZone":
            return self.availability_zone
        return original(self, attribute_name)

    Subnet.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


_install_subnet_availability_zone()


def _install_update_keeps_retained_resources() -> None:
    """A stack update that removes a resource with DeletionPolicy Retain keeps it, as on AWS.

    moto 5.2 honours Retain when a stack is deleted, but deletes every resource an update
    removes from the template. On AWS the resource leaves the stack and stays: neo4jctl's
    member volumes rely on it (an update that makes a member adopt its volume by id, or
    replaces it, must not delete the data). Upstream, ResourceMap.update would skip them as
    ResourceMap.delete does.
    """
    from moto.cloudformation import parsing

    delete_resource = parsing.ResourceMap._delete_resource

    def _delete_resource(self, parsed_resource, resource_json):  # type: ignore[no-untyped-def]
        if resource_json.get("DeletionPolicy") == "Retain":
            logical_id = getattr(parsed_resource, "logical_resource_id", None)
            if logical_id is not None:
                self._parsed_resources.pop(logical_id, None)
            return
        delete_resource(self, parsed_resource, resource_json)

    parsing.ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]


_install_update_keeps_retained_resources()


def _install_change_set_execution_keeps_parameters() -> None:
    """Executing a change set gives the stack the change set's parameters and outputs, as on AWS.

    moto 5.2 gives the stack the change set's template but keeps the parameters it was
    created with, so the next change set that passes those first values again (a stop, then
    a start: a desired count 1, 0, then 1) is called empty and FAILED; and it keeps the
    outputs it evaluated before (an output naming a resource the update replaced names the
    old one). Upstream, execute_change_set would set stack.parameters as it sets
    stack.template, and make the output map again as UpdateStack does.
    """
    from moto.cloudformation import models

    execute = models.CloudFormationBackend.execute_change_set

    def executed(self, change_set_name, stack_name=None):  # type: ignore[no-untyped-def]
        execute(self, change_set_name, stack_name)
        for cs in self.change_sets.values():
            if change_set_name in (cs.change_set_id, cs.change_set_name) and cs.stack_id in self.stacks:
                stack = self.stacks[cs.stack_id]
                stack.parameters = cs.parameters
                stack.output_map = stack._create_output_map()

    models.CloudFormationBackend.execute_change_set = executed  # type: ignore[method-assign]


_install_change_set_execution_keeps_parameters()


def _install_update_follows_conditions() -> None:
    """A stack update adds and removes the resources whose Condition a parameter flips.

    moto 5.2 evaluates a resource's Condition only when the stack is created: an update that
    turns a condition false leaves the resource in the stack, one that turns it true never
    creates it. On AWS the first is removed (kept if its DeletionPolicy is Retain), the second
    created. neo4jctl's adoption parameters rely on it (ExistingVolumeId: a member stack lets
    its own volume go, or makes a new one). Upstream, ResourceMap.update would include them in
    its Remove and Add sets.
    """
    from moto.cloudformation import parsing

    update = parsing.ResourceMap.update

    def updated(self, template, parameters=None):  # type: ignore[no-untyped-def]
        update(self, template, parameters)
        for logical_id, resource_json in list(self._resource_json_map.items()):
            cond = resource_json.get("Condition")
            if cond is None:
                continue
            on = self.lazy_condition_map[cond]
            if not on and logical_id in self._parsed_resources:
                self._delete_resource(self._parsed_resources[logical_id], resource_json)
                self._parsed_resources.pop(logical_id, None)
            elif on and logical_id not in self._parsed_resources:
                _ = self[logical_id]

    parsing.ResourceMap.update = updated  # type: ignore[method-assign]


_install_update_follows_conditions()


def _install_asg_update_in_place() -> None:
    """AWS::AutoScaling::AutoScalingGroup: an update changes the group in place, as on AWS.

    moto 5.2 replaces the group on any update (delete, then create under a new name), so the
    group a stack names changes with every resize and its instances are all replaced. On AWS
    the group keeps its name: MinSize, MaxSize and DesiredCapacity change in place (it
    launches or terminates instances to the new size; neo4jctl's stop and start set them),
    and so do its launch template and instance settings. Approximated: a new launch template
    version does not roll the instances (the UpdatePolicy's rolling update). Upstream,
    update_from_cloudformation_json would call FakeAutoScalingGroup.update.
    """
    from moto.autoscaling.models import FakeAutoScalingGroup

    update = FakeAutoScalingGroup.update_from_cloudformation_json.__func__

    def updated(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        p = cloudformation_json["Properties"]
        if p.get("AutoScalingGroupName") not in (None, original_resource.name):
            return update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)

        def num(k):  # type: ignore[no-untyped-def]
            return int(p[k]) if p.get(k) is not None else None

        original_resource.update(
            availability_zones=p.get("AvailabilityZones", []),
            desired_capacity=num("DesiredCapacity"),
            max_size=num("MaxSize"),
            min_size=num("MinSize"),
            launch_config_name=p.get("LaunchConfigurationName"),
            launch_template=p.get("LaunchTemplate", {}),
            vpc_zone_identifier=",".join(p.get("VPCZoneIdentifier", [])) or None,
            health_check_period=p.get("HealthCheckGracePeriod"),
            health_check_type=p.get("HealthCheckType"),
            new_instances_protected_from_scale_in=p.get("NewInstancesProtectedFromScaleIn"),
            mixed_instances_policy=p.get("MixedInstancesPolicy") or None,
        )
        original_resource.capacity_rebalance = p.get("CapacityRebalance", False) in (True, "true")
        return original_resource

    FakeAutoScalingGroup.update_from_cloudformation_json = classmethod(updated)  # type: ignore[method-assign]


_install_asg_update_in_place()


# ----------------------------------------------------------------------------------------
# S3: the bucket settings moto's model drops, bucket policies with conditions
# ----------------------------------------------------------------------------------------


class S3Bucket(CloudFormationModel):
    """AWS::S3::Bucket: moto's own bucket, plus the properties moto's model drops.

    moto 5.2 applies BucketEncryption and Tags only. This applies, through moto's S3
    backend (so that the ordinary APIs read them back), VersioningConfiguration,
    ObjectLockEnabled with ObjectLockConfiguration, LoggingConfiguration,
    ReplicationConfiguration and the EventBridge switch of NotificationConfiguration, on create
    and on update. Approximated:
    lifecycle rules, ownership controls and the public access block stay ignored; Object Lock
    is turned on for a bucket that has objects too (AWS does that for a versioned bucket,
    moto's API only for an empty one).
    """

    __module__ = "moto.s3.neo4jctl"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::Bucket"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "BucketName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return MotoFakeBucket.has_cfn_attr(attr)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        bucket = MotoFakeBucket.create_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _apply_bucket_settings(bucket.name, cloudformation_json.get("Properties", {}), account_id)
        return bucket

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        # a bucket without BucketName keeps the name CloudFormation gave it (moto 5.2's update
        # reads the name from the properties and fails without one)
        props = {"BucketName": original_resource.name, **cloudformation_json.get("Properties", {})}
        cloudformation_json = {**cloudformation_json, "Properties": props}  # a copy: the template stays as sent
        bucket = MotoFakeBucket.update_from_cloudformation_json(original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        _apply_bucket_settings(bucket.name, cloudformation_json.get("Properties", {}), account_id)
        return bucket

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        MotoFakeBucket.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)

    def is_created(self) -> bool:
        return True


def _apply_bucket_settings(name: str, p: dict[str, Any], account_id: str) -> None:
    backend = s3_backends[account_id]["aws"]
    bucket = backend.get_bucket(name)
    if "VersioningConfiguration" in p:
        backend.put_bucket_versioning(name, p["VersioningConfiguration"].get("Status", "Enabled"))
    if p.get("ObjectLockEnabled") in (True, "true"):
        retention = p.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
        bucket.object_lock_enabled = True
        bucket.versioning_status = "Enabled"
        bucket.default_lock_mode = retention.get("Mode")
        bucket.default_lock_days = int(retention.get("Days", 0))  # moto adds both up: 0, not None
        bucket.default_lock_years = int(retention.get("Years", 0))
    log = p.get("LoggingConfiguration")
    if log:
        backend.put_bucket_logging(name, {"TargetBucket": log["DestinationBucketName"], "TargetPrefix": log.get("LogFilePrefix", "")})
    else:
        bucket.logging = {}
    rep = p.get("ReplicationConfiguration")
    if rep:
        backend.put_bucket_replication(name, {"Role": rep["Role"], "Rule": [_replication_rule(r) for r in rep.get("Rules", [])]})
    else:
        bucket.replication = None
    eb = p.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
    backend.put_bucket_notification_configuration(name, {"EventBridgeConfiguration": {}} if eb.get("EventBridgeEnabled") in (True, "true") else {})


def _replication_rule(r: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation replication rule in the S3 API's shape (as moto stores PutBucketReplication's)."""
    out: dict[str, Any] = {"ID": r.get("Id", ""), "Priority": str(r.get("Priority", 1)), "Status": r["Status"],
                           "Destination": {k: v for k, v in r["Destination"].items()}}
    if "Filter" in r:
        out["Filter"] = r["Filter"]
    elif "Prefix" in r:
        out["Prefix"] = r["Prefix"]
    for key in ("DeleteMarkerReplication", "SourceSelectionCriteria"):
        if key in r:
            out[key] = r[key]
    enc = out["Destination"].get("EncryptionConfiguration")
    if enc and "ReplicaKmsKeyID" in enc:
        out["Destination"]["EncryptionConfiguration"] = {"ReplicaKmsKeyID": enc["ReplicaKmsKeyID"]}
    return out


def _install_replication_read_back() -> None:
    """GetBucketReplication answers the rules as stored.

    moto 5.2 answers every rule with an empty prefix filter and delete markers Disabled, and
    leaves out SourceSelectionCriteria, whatever was put.
    """
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError
    from moto.s3.responses import S3Response

    def get_bucket_replication(self):  # type: ignore[no-untyped-def]
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        rules = []
        for rule in replication["Rule"]:
            r = {k: rule[k] for k in ("ID", "Priority", "Status", "Filter", "Prefix", "SourceSelectionCriteria", "Destination") if k in rule}
            r["DeleteMarkerReplication"] = rule.get("DeleteMarkerReplication", {"Status": "Disabled"})
            if "Filter" not in r and "Prefix" not in r:
                r["Filter"] = {"Prefix": ""}
            rules.append(r)
        return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}))

    S3Response.get_bucket_replication = get_bucket_replication  # type: ignore[method-assign]


def _install_notification_read_back() -> None:
    """GetBucketNotificationConfiguration answers EventBridgeConfiguration when it is on.

    moto 5.2 stores it (PutBucketNotificationConfiguration) but never answers it.
    """
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    answer = S3Response.get_bucket_notification

    def get_bucket_notification(self):  # type: ignore[no-untyped-def]
        nc = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if not nc or nc.event_bridge is None:
            return answer(self)

        def config(item: Any, arn_key: str) -> dict[str, Any]:
            c: dict[str, Any] = {"Id": item.id, arn_key: item.arn, "Events": item.events}
            if item.filters:
                c["Filter"] = {"Key": {"FilterRules": item.filters["S3Key"]["FilterRule"]}}
            return c

        self.data["Action"] = "GetBucketNotificationConfiguration"
        return self.serialized(ActionResult({
            "TopicConfigurations": [config(t, "TopicArn") for t in nc.topic],
            "QueueConfigurations": [config(q, "QueueArn") for q in nc.queue],
            "LambdaFunctionConfigurations": [config(f, "LambdaFunctionArn") for f in nc.cloud_function],
            "EventBridgeConfiguration": {},
        }))

    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


def _install_policy_conditions() -> None:
    """Bucket policies with conditions: a statement applies only where its condition holds.

    moto 5.2 answers DENIED for any statement whose condition does not hold (an Allow with a
    condition denies too) and treats operators it cannot evaluate as holding, so a TLS-only
    Deny (Bool aws:SecureTransport false) denied every request. This evaluates Bool, makes a
    statement whose condition does not hold not apply (IAM's rule), and has bucket policies
    see aws:SecureTransport true: the emulator stands for S3's HTTPS endpoint.
    """
    from moto.iam import policy_conditions
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult

    def bool_equals(expected: Any, actual: str) -> bool:
        values = expected if isinstance(expected, list) else [expected]
        return str(actual).lower() in [str(v).lower() for v in values]

    policy_conditions.CONDITION_OPERATIONS["Bool"] = bool_equals
    is_permitted = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):  # type: ignore[no-untyped-def]
        if self._statement.get("Condition") and not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        return is_permitted(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]

    def get_permission(self, action, resource):  # type: ignore[no-untyped-def]
        if self.policy is None:
            return PermissionResult.NEUTRAL
        return IAMPolicy(self.policy.decode()).is_action_permitted(action, resource, incoming_condition_values={"aws:SecureTransport": "true"})

    MotoFakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _install_object_lock_checksum_rule() -> None:
    """A PutObject that Object Lock retains needs a checksum, which S3 takes in any form.

    S3 refuses (400 InvalidRequest, "Content-MD5 OR x-amz-checksum- HTTP header is required
    for Put Object requests with Object Lock parameters") an upload that gets a retention
    period, from lock headers or the bucket's default retention, without Content-MD5 or a
    checksum: an x-amz-checksum-<algorithm> header, or one in the trailer (x-amz-trailer).
    moto 5.2 asks the same, but knows only Content-MD5 and x-amz-sdk-checksum-algorithm, so
    it refused the x-amz-checksum-crc32 header the AWS SDKs send by default, and answered with
    a code of its own. This checks S3's way, then lets moto see the algorithm it looks for
    (which also records the checksum with the object, as S3 does).
    """
    from werkzeug.datastructures import Headers

    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    put = S3Response._key_response_put
    subresources = ("uploadId", "retention", "legal-hold", "acl", "tagging")

    def algorithm(headers: Any) -> str:
        """The checksum's algorithm ("" for Content-MD5 or none), from a header or the trailer."""
        names = [k.lower() for k in headers.keys()]
        names += [t.strip().lower() for t in headers.get("x-amz-trailer", "").split(",")]
        for n in names:
            if n.startswith("x-amz-checksum-") and n not in ("x-amz-checksum-type", "x-amz-checksum-mode", "x-amz-checksum-algorithm"):
                return n.removeprefix("x-amz-checksum-").upper()
        return ""

    def key_response_put(self, query, key_name):  # type: ignore[no-untyped-def]
        if any(q in query for q in subresources) or "x-amz-copy-source" in self.headers:
            return put(self, query, key_name)
        bucket = self.backend.get_bucket(self.bucket_name)
        retained = bucket.has_default_lock or self.headers.get("x-amz-object-lock-mode") or \
            self.headers.get("x-amz-object-lock-retain-until-date") or self.headers.get("x-amz-object-lock-legal-hold") == "ON"
        if retained and not self.headers.get("Content-MD5") and not self.headers.get("x-amz-sdk-checksum-algorithm"):
            algo = algorithm(self.headers)
            if not algo:
                raise S3ClientError("InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
            self.headers = Headers(self.headers)
            self.headers["x-amz-sdk-checksum-algorithm"] = algo
        return put(self, query, key_name)

    S3Response._key_response_put = key_response_put  # type: ignore[method-assign]


def _install_replication() -> None:
    """S3 replication copies new objects; moto 5.2 stores the rules and copies nothing.

    Each enabled rule whose prefix matches copies the object, under the same key, into the
    rule's destination bucket (same account: S3's bucket names are global, so the copy lands
    in the destination's region): at once, where S3 takes seconds to minutes. Deletes are not
    copied (neo4jctl's rule has DeleteMarkerReplication Disabled), nor are copies copied
    again; an object whose destination is missing is left uncopied (S3 marks it FAILED).
    """
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import S3Backend

    put = S3Backend.put_object

    def put_object(self, bucket_name, key_name, value, *args, **kwargs):  # type: ignore[no-untyped-def]
        key = put(self, bucket_name, key_name, value, *args, **kwargs)
        replication = getattr(self.get_bucket(bucket_name), "replication", None) or {}
        for rule in replication.get("Rule", []):
            prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", "")) or ""
            if rule.get("Status") != "Enabled" or not key_name.startswith(prefix):
                continue
            try:
                put(self, rule["Destination"]["Bucket"].split(":::")[-1], key_name, value)
            except MissingBucket:
                pass
        return key

    S3Backend.put_object = put_object  # type: ignore[method-assign]


_install_replication_read_back()
_install_notification_read_back()
_install_policy_conditions()
_install_object_lock_checksum_rule()
_install_replication()


def _install_task_definition_replacement_reaches_services() -> None:
    """A changed AWS::ECS::TaskDefinition is a new revision (a new ARN), and the services that
    Ref it move to it in a new deployment, as AWS does.

    moto 5.2 registers the new revision but updates only resources whose template JSON
    changed: a service whose TaskDefinition is a Ref to it stays on the old, deregistered
    revision, and its change set does not list it. ECS's update_service keeps the deployment
    id when the task definition changes (ECS starts a new PRIMARY deployment). Upstream,
    build_resource_diff would modify the resources referring to a replaced one.
    """
    from moto.cloudformation.parsing import ResourceMap, get_references_from_template
    from moto.ecs.models import EC2ContainerServiceBackend

    build = ResourceMap.build_resource_diff

    def build_resource_diff(self, other_template, parameters=None):  # type: ignore[no-untyped-def]
        out = build(self, other_template, parameters)
        new = other_template["Resources"]
        replaced = [n for n in out["Modify"] if new[n].get("Type") == "AWS::ECS::TaskDefinition"]
        for name, res in new.items():
            if name in out["Modify"] or name not in self._resource_json_map:
                continue
            if any(r in replaced for r in get_references_from_template(res)):
                out["Modify"].append(name)
        return out

    ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign]

    update_service = EC2ContainerServiceBackend.update_service

    def update_service_deploys(self, service_properties):  # type: ignore[no-untyped-def]
        cluster = service_properties.get("cluster", "default")
        name = service_properties.get("service", "").split("/")[-1]
        new_td = service_properties.get("task_definition")
        before = self._get_service(cluster, name).task_definition if new_td else None
        svc = update_service(self, service_properties)
        if new_td and svc.task_definition != before and svc.deployments:
            d = svc.deployments[0]
            d["id"] = f"ecs-svc/{mock_random.randint(0, 32**12)}"
            d["taskDefinition"] = svc.task_definition
        return svc

    EC2ContainerServiceBackend.update_service = update_service_deploys  # type: ignore[method-assign]


_install_task_definition_replacement_reaches_services()


if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
