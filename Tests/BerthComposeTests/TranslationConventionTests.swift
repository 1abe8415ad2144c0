import BerthCompose
import BerthCore
import BerthManifests
import Testing

@Suite("Compose translation of companion conventions")
struct TranslationConventionTests {
    @Test func ofeliaExecLabelsBecomeCronJobsOfTheServicesSpec() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              app:
                image: example/app:1.4
                environment: {DJANGO_SETTINGS_MODULE: app.settings}
                volumes:
                  - {type: volume, source: media, target: /media}
                networks:
                  back: {aliases: [api]}
                labels:
                  ofelia.enabled: "true"
                  ofelia.job-exec.runcrons.schedule: "0 * * * * *"
                  ofelia.job-exec.runcrons.command: "python manage.py runcrons --force 'a b'"
                  ofelia.job-exec.runcrons.no-overlap: "true"
                  ofelia.job-exec.cleanup.schedule: "@every 1h"
                  ofelia.job-exec.cleanup.command: "python manage.py cleanup"
                  ofelia.job-exec.cleanup.no-overlap: "false"
                  tier: web
              scheduler:
                image: mcuadros/ofelia:latest
                command: ["daemon", "--docker"]
                labels:
                  ofelia.job-run.report.schedule: "@daily"
                  ofelia.job-run.report.image: "example/report:2"
                  ofelia.job-run.report.command: "report --all"
                  ofelia.job-run.report.volume: "shop_media:/media:ro"
                  ofelia.job-run.report.network: "shop_back"
            networks:
              back: {}
            volumes:
              media: {}
            """
        )
        #expect(state.ids(.service) == ["app"])
        #expect(try state.service("app").container.labels == ["tier": "web"])
        #expect(state.ids(.cronJob) == ["app-cleanup", "app-runcrons", "scheduler-report"])
        let runcrons = try state.cronJob("app-runcrons")
        #expect(runcrons.schedule.description == "* * * * *")
        #expect(runcrons.concurrencyPolicy == .forbid)
        let job = runcrons.jobTemplate.container
        #expect(job.image.description == "example/app:1.4")
        #expect(job.entrypoint == ["python", "manage.py", "runcrons", "--force", "a b"])
        #expect(job.command == [])
        #expect(job.env == ["DJANGO_SETTINGS_MODULE": .literal("app.settings")])
        #expect(job.volumes.map(\.description) == ["media:/media"])
        #expect(job.networks == [NetworkAttachment(name: "back")])
        #expect(try state.cronJob("app-cleanup").concurrencyPolicy == .allow)
        let report = try state.cronJob("scheduler-report")
        #expect(report.jobTemplate.container.image.description == "example/report:2")
        #expect(report.jobTemplate.container.command == ["report", "--all"])
        #expect(report.jobTemplate.container.volumes.map(\.description) == ["media:/media:ro"])
        #expect(report.jobTemplate.container.networks == [NetworkAttachment(name: "back")])
        #expect(translation.warnings(about: "services.scheduler").first?.message.contains("ofelia container is left out") == true)
        #expect(translation.files["scheduler.yaml"]?.contains("kind: CronJob") == true)
    }

    @Test func ofeliaSecondsOtherThanZeroAreAWarning() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              app:
                image: busybox
                labels:
                  ofelia.job-exec.tick.schedule: "30 */5 * * * *"
                  ofelia.job-exec.tick.command: "date"
            """
        )
        #expect(try state.cronJob("app-tick").schedule.description == "*/5 * * * *")
        #expect(translation.warnings(about: "services.app.labels.ofelia.job-exec.tick.schedule").first?.location?.line == 5)
    }

    @Test func autohealIsBerthsOwnRestartOfUnhealthyContainers() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              app:
                image: busybox
                labels: {autoheal: "true"}
                healthcheck: {test: ["CMD", "true"]}
              worker:
                image: busybox
                labels: {autoheal: "true"}
              autoheal:
                image: willfarrell/autoheal:1.2.0
                environment: {AUTOHEAL_CONTAINER_LABEL: all}
                volumes:
                  - {type: bind, source: /var/run/docker.sock, target: /var/run/docker.sock}
            """
        )
        #expect(state.ids(.service) == ["app", "worker"])
        #expect(try state.service("app").container.labels.isEmpty)
        #expect(translation.files["app.yaml"]?.contains("# autoheal=true: Berth restarts") == true)
        #expect(translation.warnings(about: "services.autoheal").first?.message.contains("autoheal container is left out") == true)
        #expect(translation.warnings(about: "services.worker.labels.autoheal").first?.message.contains("no health check") == true)
        #expect(translation.warnings(about: "services.app.labels.autoheal").isEmpty)
        #expect(translation.files["autoheal.yaml"] == nil)
    }

    @Test func aCertbotRenewLoopPointsAtCertificates() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              certbot:
                image: certbot/certbot:v2.11.0
                entrypoint: ["/bin/sh", "-c", "trap exit TERM; while :; do certbot renew; sleep 12h & wait $!; done;"]
            """
        )
        #expect(state.ids(.service) == ["certbot"])
        let warning = try #require(translation.warnings(about: "services.certbot").first)
        #expect(warning.message.contains("Certificate"))
        #expect(warning.location?.line == 2)
    }
}
