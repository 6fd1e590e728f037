using BenchmarkDotNet.Attributes;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Benchmarks;

/// <summary>Filling {placeholders} in a message for one friend, once per message of every send.</summary>
[MemoryDiagnoser]
public class MessagePersonalizerBenchmarks
{
    private static readonly LineMessage TextMessage = new("""
        {"type":"text","text":"{displayName}さん、友だち追加ありがとうございます！\n{favoriteStore}店で使える「ドリンク1杯無料」クーポンをお届けします。\n\nThanks for adding us, {displayName}! Here is a free-drink coupon for our {favoriteStore} store."}
        """);

    // A product card: hero image, title, the friend's rank and name in the body, two buttons.
    private static readonly LineMessage FlexMessage = new("""
        {"type":"flex","altText":"{displayName}さまへのおすすめ / Picked for you",
         "contents":{"type":"bubble",
          "hero":{"type":"image","url":"https://example.com/shop/images/serum.jpg","size":"full","aspectRatio":"20:13","aspectMode":"cover"},
          "body":{"type":"box","layout":"vertical","spacing":"sm","contents":[
            {"type":"text","text":"保湿美容液 30mL","weight":"bold","size":"xl","wrap":true},
            {"type":"text","text":"{memberRank}会員の{displayName}さま限定 15%オフ","size":"sm","color":"#aa3333","wrap":true},
            {"type":"box","layout":"baseline","contents":[
              {"type":"text","text":"¥4,980","size":"lg","flex":0},
              {"type":"text","text":"税込・送料無料","size":"xs","color":"#999999","margin":"md"}]},
            {"type":"text","text":"{skinType}肌の方に人気の1本です。","size":"sm","wrap":true}]},
          "footer":{"type":"box","layout":"vertical","spacing":"sm","contents":[
            {"type":"button","style":"primary","action":{"type":"uri","label":"購入する / Buy","uri":"https://example.com/shop/serum?utm_source=line"}},
            {"type":"button","style":"link","action":{"type":"uri","label":"詳しく見る / Details","uri":"https://example.com/shop/serum/details"}}]}}}
        """);

    private Dictionary<string, string> _values = null!;

    [GlobalSetup]
    public void Setup()
    {
        // The grain's values: the friend's attributes plus displayName.
        var friend = SampleFriends.Waiting(DateTimeOffset.UnixEpoch.AddYears(56));
        _values = new Dictionary<string, string>(friend.Attributes, StringComparer.OrdinalIgnoreCase)
        {
            ["displayName"] = friend.DisplayName!,
        };

        foreach (var message in new[] { TextMessage, FlexMessage })
        {
            if (MessagePersonalizer.Render(message, _values).Json.Contains('{' + "displayName}", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("A placeholder was left unfilled.");
            }
        }
    }

    [Benchmark]
    public LineMessage Text() => MessagePersonalizer.Render(TextMessage, _values);

    [Benchmark]
    public LineMessage Flex() => MessagePersonalizer.Render(FlexMessage, _values);
}
