class Kubelet:
    def __init__(self, cluster):
        self.cluster = cluster

    def killing(self, ns, name):
        pass

    def stop(self):
        pass

    def state(self):
        return {}

    def set_images(self, images, replace=False):
        pass
