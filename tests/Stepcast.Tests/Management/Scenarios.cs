namespace Stepcast.Tests.Management;

/// <summary>Scenario JSON used by the management tests; <c>CHANNEL</c> stands for the channel id.</summary>
public static class Scenarios
{
    /// <summary>Two sends three days apart, personalised with the friend's name and an attribute.</summary>
    public const string Nurture = """
        {
          "id": "nurture", "title": "Nurture", "channelId": "CHANNEL",
          "triggers": [{ "type": "api" }],
          "steps": [
            { "type": "send", "id": "first", "messages": [{ "type": "text", "text": "Hi {displayName}, {plan} member" }] },
            { "type": "wait", "id": "three-days", "days": 3 },
            { "type": "send", "id": "second", "messages": [{ "type": "text", "text": "Day 3" }] }
          ]
        }
        """;

    /// <summary>A reminder, then a wait for <c>purchased</c> long enough never to time out during a test.</summary>
    public const string Cart = """
        {
          "id": "cart", "title": "Cart", "channelId": "CHANNEL",
          "triggers": [{ "type": "event", "name": "cart_abandoned" }],
          "reentry": "afterCompletion",
          "steps": [
            { "type": "send", "id": "reminder", "messages": [{ "type": "text", "text": "Your cart misses you" }] },
            { "type": "waitForEvent", "id": "wait-purchase", "event": "purchased", "timeout": { "days": 300 }, "onEvent": "thanks", "onTimeout": "coupon" },
            { "type": "send", "id": "thanks", "next": "done", "messages": [{ "type": "text", "text": "Thanks for your order" }] },
            { "type": "send", "id": "coupon", "messages": [{ "type": "text", "text": "Free shipping" }] },
            { "type": "exit", "id": "done" }
          ]
        }
        """;

    public const string VipWelcome = """
        {
          "id": "vip-welcome", "title": "VIP welcome", "channelId": "CHANNEL",
          "triggers": [{ "type": "tagAdded", "tag": "vip" }],
          "steps": [
            { "type": "send", "id": "vip-hello", "messages": [{ "type": "text", "text": "Welcome to VIP" }] }
          ]
        }
        """;

    /// <summary>Waits 300 days before its only send, so an enrolment stays visible with a due time.</summary>
    public const string LongWait = """
        {
          "id": "long-wait", "title": "Long wait", "channelId": "CHANNEL",
          "triggers": [{ "type": "api" }],
          "steps": [
            { "type": "wait", "id": "later", "days": 300 },
            { "type": "send", "id": "eventually", "messages": [{ "type": "text", "text": "Still there?" }] }
          ]
        }
        """;
}
