using System.Text;
using Stepcast.Grains.Line.Webhooks;

namespace Stepcast.Tests.Line;

public sealed class WebhookParserTests
{
    private const string Destination = "U0123456789abcdef0123456789abcdef";

    // One of each kind, with fields in unusual orders, unknown fields at every level, and an unknown event type.
    private const string MixedBatch = """
        {
          "destination": "U0123456789abcdef0123456789abcdef",
          "somethingNew": {"nested": [1, 2, {"deep": true}]},
          "events": [
            {
              "replyToken": "r-follow", "type": "follow", "mode": "active", "timestamp": 1700000000000,
              "source": {"type": "user", "userId": "U1"}, "webhookEventId": "01HFOLLOW",
              "deliveryContext": {"isRedelivery": false}, "follow": {"isUnblocked": true, "future": 1}
            },
            {
              "type": "message", "message": {"type": "text", "id": "468789577898262530", "quoteToken": "q1",
                "text": "Hello", "emojis": [{"index": 0, "length": 6, "productId": "p", "emojiId": "e"}],
                "mention": {"mentionees": [{"index": 0, "length": 4, "type": "user", "userId": "U2"}]}},
              "webhookEventId": "01HMESSAGE", "deliveryContext": {"isRedelivery": true},
              "timestamp": 1700000000001, "source": {"type": "group", "groupId": "G1", "userId": "U1"},
              "replyToken": "r-message", "mode": "active"
            },
            {"type": "message", "mode": "active", "timestamp": 1, "webhookEventId": "01HSTICKER",
             "deliveryContext": {"isRedelivery": false}, "source": {"type": "room", "roomId": "R1"},
             "message": {"type": "sticker", "id": "2", "packageId": "446", "stickerId": "1988",
               "stickerResourceType": "ANIMATION", "keywords": ["happy", "smile"], "quoteToken": "q2"}},
            {"type": "message", "mode": "active", "timestamp": 1, "webhookEventId": "01HIMAGE", "deliveryContext": {"isRedelivery": false},
             "message": {"type": "image", "id": "3", "contentProvider": {"type": "line"}, "imageSet": {"id": "S", "index": 1, "total": 2}}},
            {"type": "message", "mode": "active", "timestamp": 1, "webhookEventId": "01HLOC", "deliveryContext": {"isRedelivery": false},
             "message": {"type": "location", "id": "4", "title": "T", "address": "A", "latitude": 35.65910807942215, "longitude": 139.70372892916203}},
            {"type": "message", "mode": "active", "timestamp": 1, "webhookEventId": "01HHOLO", "deliveryContext": {"isRedelivery": false},
             "message": {"type": "hologram", "id": "5", "depth": 3}},
            {"type": "unfollow", "mode": "active", "timestamp": 2, "source": {"type": "user", "userId": "U3"},
             "webhookEventId": "01HUNFOLLOW", "deliveryContext": {"isRedelivery": false}},
            {"type": "postback", "mode": "active", "timestamp": 3, "replyToken": "r-pb", "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HPB", "deliveryContext": {"isRedelivery": false},
             "postback": {"data": "step=3&choice=yes", "params": {"datetime": "2017-12-25T01:00"}}},
            {"type": "join", "mode": "active", "timestamp": 4, "replyToken": "r-join", "source": {"type": "group", "groupId": "G1"},
             "webhookEventId": "01HJOIN", "deliveryContext": {"isRedelivery": false}},
            {"type": "leave", "mode": "active", "timestamp": 5, "source": {"type": "group", "groupId": "G1"},
             "webhookEventId": "01HLEAVE", "deliveryContext": {"isRedelivery": false}},
            {"type": "memberJoined", "mode": "active", "timestamp": 6, "replyToken": "r-mj", "source": {"type": "group", "groupId": "G1"},
             "webhookEventId": "01HMJ", "deliveryContext": {"isRedelivery": false},
             "joined": {"members": [{"type": "user", "userId": "U4"}, {"type": "user", "userId": "U5"}]}},
            {"type": "memberLeft", "mode": "active", "timestamp": 7, "source": {"type": "group", "groupId": "G1"},
             "webhookEventId": "01HML", "deliveryContext": {"isRedelivery": false}, "left": {"members": [{"type": "user", "userId": "U4"}]}},
            {"type": "beacon", "mode": "active", "timestamp": 8, "replyToken": "r-b", "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HB", "deliveryContext": {"isRedelivery": false}, "beacon": {"hwid": "d41d8cd98f", "type": "enter", "dm": "1234"}},
            {"type": "accountLink", "mode": "active", "timestamp": 9, "replyToken": "r-al", "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HAL", "deliveryContext": {"isRedelivery": false}, "link": {"result": "ok", "nonce": "xxxxxxxxxxxxxxx"}},
            {"type": "things", "mode": "active", "timestamp": 10, "replyToken": "r-t", "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HT", "deliveryContext": {"isRedelivery": false}, "things": {"deviceId": "t2016", "type": "link"}},
            {"type": "unsend", "mode": "active", "timestamp": 11, "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HU", "deliveryContext": {"isRedelivery": false}, "unsend": {"messageId": "325708"}},
            {"type": "videoPlayComplete", "mode": "active", "timestamp": 12, "replyToken": "r-v", "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HV", "deliveryContext": {"isRedelivery": false}, "videoPlayComplete": {"trackingId": "track-1"}},
            {"type": "membership", "mode": "active", "timestamp": 13, "replyToken": "r-m", "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HM", "deliveryContext": {"isRedelivery": false}, "membership": {"type": "joined", "membershipId": 3189}},
            {"type": "module", "mode": "active", "timestamp": 14, "webhookEventId": "01HMOD", "deliveryContext": {"isRedelivery": false},
             "module": {"type": "attached", "botId": "U111", "scopes": ["message:send"]}},
            {"type": "activated", "mode": "active", "timestamp": 15, "source": {"type": "user", "userId": "U1"},
             "webhookEventId": "01HACT", "deliveryContext": {"isRedelivery": false}, "chatControl": {"expireAt": 1592382270000}},
            {"type": "deactivated", "mode": "standby", "timestamp": 16, "webhookEventId": "01HDEACT", "deliveryContext": {"isRedelivery": false}},
            {"type": "botSuspended", "mode": "active", "timestamp": 17, "webhookEventId": "01HBS", "deliveryContext": {"isRedelivery": false}},
            {"type": "botResumed", "mode": "active", "timestamp": 18, "webhookEventId": "01HBR", "deliveryContext": {"isRedelivery": false}},
            {"type": "delivery", "mode": "active", "timestamp": 19, "webhookEventId": "01HD", "deliveryContext": {"isRedelivery": false},
             "delivery": {"data": "hashed"}},
            {"type": "teleport", "mode": "active", "timestamp": 20, "webhookEventId": "01HNEW", "deliveryContext": {"isRedelivery": false},
             "teleport": {"to": "moon"}, "source": {"type": "user", "userId": "U9"}}
          ]
        }
        """;

    private static WebhookPayload Parse(string json) => WebhookParser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Mixed_batch_parses_every_event_type_in_order()
    {
        var payload = Parse(MixedBatch);

        Assert.Equal(Destination, payload.Destination);
        Assert.Collection(
            payload.Events,
            e => Assert.IsType<FollowEvent>(e),
            e => Assert.IsType<TextMessageContent>(Assert.IsType<MessageEvent>(e).Message),
            e => Assert.IsType<StickerMessageContent>(Assert.IsType<MessageEvent>(e).Message),
            e => Assert.IsType<ImageMessageContent>(Assert.IsType<MessageEvent>(e).Message),
            e => Assert.IsType<LocationMessageContent>(Assert.IsType<MessageEvent>(e).Message),
            e => Assert.IsType<UnknownMessageContent>(Assert.IsType<MessageEvent>(e).Message),
            e => Assert.IsType<UnfollowEvent>(e),
            e => Assert.IsType<PostbackEvent>(e),
            e => Assert.IsType<JoinEvent>(e),
            e => Assert.IsType<LeaveEvent>(e),
            e => Assert.IsType<MemberJoinedEvent>(e),
            e => Assert.IsType<MemberLeftEvent>(e),
            e => Assert.IsType<BeaconEvent>(e),
            e => Assert.IsType<AccountLinkEvent>(e),
            e => Assert.IsType<ThingsEvent>(e),
            e => Assert.IsType<UnsendEvent>(e),
            e => Assert.IsType<VideoPlayCompleteEvent>(e),
            e => Assert.IsType<MembershipEvent>(e),
            e => Assert.IsType<ModuleEvent>(e),
            e => Assert.IsType<ActivatedEvent>(e),
            e => Assert.IsType<DeactivatedEvent>(e),
            e => Assert.IsType<BotSuspendedEvent>(e),
            e => Assert.IsType<BotResumedEvent>(e),
            e => Assert.IsType<DeliveryEvent>(e),
            e => Assert.Equal("teleport", Assert.IsType<UnknownWebhookEvent>(e).Type));
    }

    [Fact]
    public void Follow_event_carries_common_fields_and_is_unblocked()
    {
        var follow = Assert.IsType<FollowEvent>(Parse(MixedBatch).Events[0]);

        Assert.Equal("follow", follow.Type);
        Assert.Equal("active", follow.Mode);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1700000000000), follow.Timestamp);
        Assert.Equal(new WebhookSource("user", "U1", null, null), follow.Source);
        Assert.Equal("01HFOLLOW", follow.WebhookEventId);
        Assert.Equal("r-follow", follow.ReplyToken);
        Assert.True(follow.IsUnblocked);
        Assert.False(follow.IsRedelivery);
    }

    [Fact]
    public void Redelivered_message_event_is_flagged_and_keeps_text_and_group_source()
    {
        var message = Assert.IsType<MessageEvent>(Parse(MixedBatch).Events[1]);

        Assert.True(message.IsRedelivery);
        Assert.Equal("r-message", message.ReplyToken);
        Assert.Equal(new WebhookSource("group", "U1", "G1", null), message.Source);
        var text = Assert.IsType<TextMessageContent>(message.Message);
        Assert.Equal("Hello", text.Text);
        Assert.Equal("468789577898262530", text.Id);
        Assert.Equal("q1", text.QuoteToken);
    }

    [Fact]
    public void Event_specific_fields_are_read()
    {
        var events = Parse(MixedBatch).Events;

        var sticker = Assert.IsType<StickerMessageContent>(((MessageEvent)events[2]).Message);
        Assert.Equal(("446", "1988", "ANIMATION"), (sticker.PackageId, sticker.StickerId, sticker.StickerResourceType));
        Assert.Equal(["happy", "smile"], sticker.Keywords);

        var image = Assert.IsType<ImageMessageContent>(((MessageEvent)events[3]).Message);
        Assert.Equal(new ContentProvider("line", null, null), image.ContentProvider);
        Assert.Equal(new ImageSet("S", 1, 2), image.ImageSet);

        var location = Assert.IsType<LocationMessageContent>(((MessageEvent)events[4]).Message);
        Assert.Equal(35.65910807942215, location.Latitude);

        var postback = (PostbackEvent)events[7];
        Assert.Equal("step=3&choice=yes", postback.Data);
        Assert.Equal("2017-12-25T01:00", postback.Params["datetime"]);

        Assert.Equal(["U4", "U5"], ((MemberJoinedEvent)events[10]).Members.Select(m => m.UserId));
        Assert.Equal(("d41d8cd98f", "enter", "1234"), (((BeaconEvent)events[12]).Hwid, ((BeaconEvent)events[12]).BeaconType, ((BeaconEvent)events[12]).DeviceMessage));
        Assert.Equal("ok", ((AccountLinkEvent)events[13]).Result);
        Assert.Equal("325708", ((UnsendEvent)events[15]).MessageId);
        Assert.Equal("track-1", ((VideoPlayCompleteEvent)events[16]).TrackingId);
        Assert.Equal(3189, ((MembershipEvent)events[17]).MembershipId);

        var module = (ModuleEvent)events[18];
        Assert.Equal(("attached", "U111"), (module.ModuleType, module.BotId));
        Assert.Contains("message:send", module.Json, StringComparison.Ordinal);

        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1592382270000), ((ActivatedEvent)events[19]).ChatControlExpireAt);
        Assert.True(events[20].IsStandby);
        Assert.Equal("hashed", ((DeliveryEvent)events[23]).Data);
    }

    [Fact]
    public void Verification_request_with_no_events_parses_to_an_empty_list()
    {
        var payload = Parse("""{"destination":"U0123456789abcdef0123456789abcdef","events":[]}""");

        Assert.Empty(payload.Events);
    }

    [Theory]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":"yesterday"}]}""", "$.events[0].timestamp")]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":1},{"type":"unfollow","timestamp":2,"source":{"type":"user","userId":5}}]}""", "$.events[1].source.userId")]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":1,"deliveryContext":{"isRedelivery":"no"}}]}""", "$.events[0].deliveryContext.isRedelivery")]
    [InlineData("""{"destination":"U1","events":[{"type":"message","timestamp":1,"message":{"type":"text","id":"1"}}]}""", "$.events[0].message.text")]
    [InlineData("""{"destination":"U1","events":[{"timestamp":1}]}""", "$.events[0].type")]
    [InlineData("""{"destination":"U1","events":{}}""", "$.events")]
    [InlineData("""{"events":[]}""", "$.destination")]
    public void Wrongly_shaped_known_field_names_its_json_path(string json, string expectedPath)
    {
        var exception = Assert.Throws<WebhookParseException>(() => Parse(json));

        Assert.Equal(expectedPath, exception.Path);
        Assert.Contains(expectedPath, exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":1,"source":{"type":"user",}}]}""", "$.events[0].source")]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":1,"unknownThing":{"a":[1,2}}]}""", "$.events[0].unknownThing")]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":1}""", "$.events")]
    [InlineData("""{"destination":"U1"} trailing""", "$")]
    [InlineData("", "$")]
    public void Malformed_json_is_a_parse_exception_near_the_offending_spot(string json, string expectedPathPrefix)
    {
        var exception = Assert.Throws<WebhookParseException>(() => Parse(json));

        Assert.StartsWith(expectedPathPrefix, exception.Path, StringComparison.Ordinal);
        Assert.Contains("malformed JSON", exception.Reason, StringComparison.Ordinal);
    }
}
