using Stepcast.Silo;

var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo => silo.AddStepcastSilo(builder.Configuration));
builder.Services.AddHostedService<SampleScenarioLoader>();
await builder.Build().RunAsync();
