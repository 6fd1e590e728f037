using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.TestDelivery;

[Orleans.Concurrency.StatelessWorker]
public sealed class TestDeliveryGrain(IMessageDelivery delivery) : Grain, ITestDeliveryGrain
{
    async Task<TestDeliveryReport> ITestDeliveryGrain.Play(TestDeliveryCommand command)
    {
        var channelId = this.GetPrimaryKeyString();
        var scenarioGrain = GrainFactory.GetGrain<IScenarioGrain>(ScenarioKey.Format(channelId, command.ScenarioId));
        var scenario = command.Version > 0
            ? await scenarioGrain.GetVersion(command.Version)
            : (await scenarioGrain.Get())?.Draft;
        if (scenario is null)
        {
            return new TestDeliveryReport { Found = false, Version = command.Version };
        }

        var sends = scenario.Steps.OfType<SendStep>().ToList();
        var played = await Task.WhenAll(command.LineUserIds.Select(id => PlayToAsync(channelId, id, scenario, command.Version, sends)));
        return new TestDeliveryReport { Found = true, Version = command.Version, Sends = [.. played.SelectMany(s => s)] };
    }

    /// <summary>One friend's sends, one after another so they arrive in order.</summary>
    private async Task<List<TestSend>> PlayToAsync(string channelId, string lineUserId, ScenarioDefinition scenario, int version, List<SendStep> sends)
    {
        var friend = await GrainFactory.GetFriend(channelId, lineUserId).GetSnapshot();
        var values = new Dictionary<string, string>(friend.Attributes, StringComparer.OrdinalIgnoreCase)
        {
            ["displayName"] = friend.DisplayName ?? "",
        };
        var results = new List<TestSend>(sends.Count);
        foreach (var send in sends)
        {
            var outcome = await delivery.DeliverAsync(new DeliveryRequest
            {
                ChannelId = channelId,
                LineUserId = lineUserId,
                // A fresh key each time: a test is played again on purpose.
                RetryKey = Guid.NewGuid(),
                Messages = [.. send.Messages.Select(m => MessagePersonalizer.Render(m, values))],
                ScenarioId = scenario.Id,
                ScenarioVersion = version,
                StepId = send.Id,
                IsTest = true,
            }, CancellationToken.None);
            results.Add(new TestSend(lineUserId, send.Id, outcome.Status, outcome.Detail));
        }

        return results;
    }
}
