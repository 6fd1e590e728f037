using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Stepcast.Grains.Line;
using Stepcast.Grains.Line.Webhooks;

namespace Stepcast.Tests.Line;

/// <summary>Webhook events and send results cross grain boundaries, so they must survive Orleans serialisation.</summary>
public sealed class LineOrleansSerializationTests
{
    private static readonly Serializer Serializer =
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private static T RoundTrip<T>(T value)
        where T : class =>
        Serializer.Deserialize<T>(Serializer.SerializeToArray(value))!;

    [Fact]
    public void Webhook_payload_round_trips_with_its_event_types()
    {
        var payload = WebhookParser.Parse(Encoding.UTF8.GetBytes("""
            {"destination":"U1","events":[
              {"type":"follow","mode":"active","timestamp":1700000000000,"source":{"type":"user","userId":"U2"},
               "webhookEventId":"01H","deliveryContext":{"isRedelivery":true},"replyToken":"r","follow":{"isUnblocked":true}},
              {"type":"message","timestamp":1,"message":{"type":"text","id":"9","text":"hi"}},
              {"type":"postback","timestamp":2,"postback":{"data":"d","params":{"date":"2026-01-01"}}},
              {"type":"mystery","timestamp":3}
            ]}
            """));

        var copy = RoundTrip(payload);

        Assert.Equal("U1", copy.Destination);
        Assert.Equal(payload.Events[0], copy.Events[0]);
        Assert.Equal("hi", Assert.IsType<TextMessageContent>(Assert.IsType<MessageEvent>(copy.Events[1]).Message).Text);
        Assert.Equal("2026-01-01", Assert.IsType<PostbackEvent>(copy.Events[2]).Params["date"]);
        Assert.Equal("mystery", Assert.IsType<UnknownWebhookEvent>(copy.Events[3]).Type);
    }

    [Fact]
    public void Send_result_round_trips()
    {
        var result = new LineSendResult
        {
            Kind = LineResultKind.Rejected,
            StatusCode = 400,
            RequestId = "req",
            RetryAfter = TimeSpan.FromSeconds(3),
            ErrorMessage = "The request body has 1 error(s)",
            ErrorDetails = [new LineErrorDetail("May not be empty", "messages[0].text")],
        };

        var copy = RoundTrip(result);

        Assert.Equal(result with { ErrorDetails = copy.ErrorDetails, SentMessages = copy.SentMessages }, copy);
        Assert.Equal(result.ErrorDetails, copy.ErrorDetails);
    }

    [Fact]
    public void Query_result_round_trips()
    {
        var result = new LineQueryResult<LineProfile>(
            new LineSendResult { Kind = LineResultKind.Accepted, StatusCode = 200 },
            new LineProfile("U1", "Taro", null, null, "ja"));

        Assert.Equal(result.Value, RoundTrip(result).Value);
    }
}
