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
}
