namespace Stepcast.LoadHarness;

/// <summary>The scenarios the load runs publish on the bench channel.</summary>
public static class BenchScenarios
{
    /// <summary>Follow-triggered: a welcome push at once, then a 7-day wait (as the restaurant sample).</summary>
    public const string Welcome = """
        {
          "id": "bench-welcome",
          "title": "Load run welcome",
          "channelId": "bench",
          "timeZone": "Asia/Tokyo",
          "triggers": [{ "type": "follow" }],
          "reentry": "never",
          "onUnblock": "restart",
          "steps": [
            {
              "type": "send",
              "id": "welcome",
              "messages": [
                { "type": "text", "text": "友だち追加ありがとうございます！本日から使えるクーポンをお届けします。\n\nThanks for adding us! Here is a coupon you can use from today." }
              ]
            },
            { "type": "wait", "id": "wait-a-week", "days": 7, "at": "11:00" },
            {
              "type": "send",
              "id": "second-visit",
              "messages": [{ "type": "text", "text": "2回目のご来店で使えるクーポンです。 / Your second-visit coupon." }]
            },
            { "type": "exit", "id": "done" }
          ]
        }
        """;

    /// <summary>
    /// The welcome without its send, for taking a follow's cost apart (<c>ingest --ingest-scenario wait</c>): a follow
    /// starts the run and waits a week, sending nothing.
    /// </summary>
    public static string WelcomeWithoutSend()
    {
        var scenario = System.Text.Json.Nodes.JsonNode.Parse(Welcome)!.AsObject();
        scenario["title"] = "Load run welcome, no send at the follow";
        scenario["steps"]!.AsArray().RemoveAt(0);
        return scenario.ToJsonString();
    }

    /// <summary>Started by the API (a campaign): a 30-day wait first, so enrolling sends nothing.</summary>
    public const string Enroll = """
        {
          "id": "bench-enroll",
          "title": "Load run enrollment",
          "channelId": "bench",
          "timeZone": "Asia/Tokyo",
          "triggers": [{ "type": "api" }],
          "reentry": "never",
          "steps": [
            { "type": "wait", "id": "wait-a-month", "days": 30 },
            {
              "type": "send",
              "id": "after-a-month",
              "messages": [{ "type": "text", "text": "ご登録から30日が経ちました。 / It has been 30 days." }]
            },
            { "type": "exit", "id": "done" }
          ]
        }
        """;

    /// <summary>How long the dispatch scenarios wait after enrollment; enrolling with <c>At = due − this</c> makes every friend due at once.</summary>
    public static readonly TimeSpan DispatchWait = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The scale scenario's wait. Enrolled with <c>At = due − this</c>, in the past, each friend's wait is over at once and
    /// its only wake-up is the send at the due time, as for a campaign into a "day 3 at 10:00" wait: with
    /// <see cref="DispatchWait"/> and a lead longer than it, every friend woke twice, once at <c>At</c>.
    /// </summary>
    public static readonly TimeSpan ScaleWait = TimeSpan.FromHours(2);

    /// <summary>The scale scenario: <see cref="ScaleWait"/>, then the same message for all.</summary>
    public const string ScalePlain = """
        {
          "id": "bench-scale-plain",
          "title": "Load run scale, same message for all",
          "channelId": "bench",
          "timeZone": "Asia/Tokyo",
          "triggers": [{ "type": "api" }],
          "reentry": "never",
          "steps": [
            { "type": "wait", "id": "wait", "hours": 2 },
            {
              "type": "send",
              "id": "send",
              "messages": [{ "type": "text", "text": "本日のおすすめです。 / Today's pick." }]
            },
            { "type": "exit", "id": "done" }
          ]
        }
        """;

    /// <summary>A wait, then a message with a placeholder: personalised, so it always goes as one push per friend.</summary>
    public const string DispatchPersonal = """
        {
          "id": "bench-dispatch-personal",
          "title": "Load run dispatch, personalised",
          "channelId": "bench",
          "timeZone": "Asia/Tokyo",
          "triggers": [{ "type": "api" }],
          "reentry": "never",
          "steps": [
            { "type": "wait", "id": "wait", "minutes": 10 },
            {
              "type": "send",
              "id": "send",
              "messages": [{ "type": "text", "text": "{displayName}さん、本日のおすすめです。 / Today's pick for you, {displayName}." }]
            },
            { "type": "exit", "id": "done" }
          ]
        }
        """;

    /// <summary>The same wait and a message without placeholders, which friends due together share as a multicast when coalescing is on.</summary>
    public const string DispatchPlain = """
        {
          "id": "bench-dispatch-plain",
          "title": "Load run dispatch, same message for all",
          "channelId": "bench",
          "timeZone": "Asia/Tokyo",
          "triggers": [{ "type": "api" }],
          "reentry": "never",
          "steps": [
            { "type": "wait", "id": "wait", "minutes": 10 },
            {
              "type": "send",
              "id": "send",
              "messages": [{ "type": "text", "text": "本日のおすすめです。 / Today's pick." }]
            },
            { "type": "exit", "id": "done" }
          ]
        }
        """;
}
